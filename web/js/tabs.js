/**
 * The page in a secure context: switches between Send and Receive, and opens a share
 * link (`/#CODE`) into Receive, ready for the person to join.
 * @module tabs
 */

import { setupReceivePage } from "./transfer/receive-page.js";
import { setupSendPage } from "./transfer/send-page.js";
import { relayOnlySetting } from "./ui/settings.js";

const TABS = { send: "send-view", receive: "receive-view" };

function show(name) {
  for (const [tab, view] of Object.entries(TABS)) {
    const active = tab === name;
    document.getElementById(view).hidden = !active;
    const button = document.getElementById(`tab-${tab}`);
    button.setAttribute("aria-selected", String(active));
    button.tabIndex = active ? 0 : -1;
  }
}

const relayOnly = relayOnlySetting();
setupSendPage({ relayOnly });
const receive = setupReceivePage({ relayOnly });

for (const tab of Object.keys(TABS)) {
  document.getElementById(`tab-${tab}`).addEventListener("click", () => show(tab));
}
document.querySelector("[role=tablist]").addEventListener("keydown", (event) => {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const next = document.getElementById("send-view").hidden ? "send" : "receive";
  show(next);
  document.getElementById(`tab-${next}`).focus();
});

// Raw, not URI-decoded: a code needs no decoding, and a malformed escape would throw.
const linked = location.hash.slice(1);
if (linked) {
  show("receive");
  // The link is shared once; keeping the code out of the address bar keeps it out of history.
  history.replaceState(null, "", location.pathname);
  // Only the person's click joins: opening the link must not use up the code.
  receive.ready(linked);
} else {
  show("send");
}
document.body.dataset.ready = "true";
