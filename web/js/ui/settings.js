/**
 * The person's settings, kept in this browser (localStorage) and shown by every
 * checkbox that stands for one: ticking one ticks its twins on the other tab.
 * @module ui/settings
 */

/** Hide my address from the other side: ICE may use only a TURN relay (PROTOCOL.md 3.5). */
const RELAY_ONLY = "sendit.relay-only";
/** Save received files straight to Downloads as they arrive (transfer/store/stream.js). */
const STREAM_TO_DOWNLOADS = "sendit.stream-to-downloads";

/**
 * Binds the checkboxes of class `className` to the setting stored under `key` ("true"
 * when on); returns a function that tells whether it is on now.
 * @returns {() => boolean}
 */
function checkboxSetting(key, className) {
  const boxes = [...document.querySelectorAll(`input.${className}`)];
  // Storage may be refused (a private window's policy): the setting then lasts as long as the page.
  let on = false;
  try {
    on = localStorage.getItem(key) === "true";
  } catch {}
  const show = () => boxes.forEach((box) => (box.checked = on));
  for (const box of boxes) {
    box.addEventListener("change", () => {
      on = box.checked;
      show();
      try {
        localStorage.setItem(key, String(on));
      } catch {}
    });
  }
  // Another tab of this page changed it.
  window.addEventListener("storage", (event) => {
    if (event.key !== key) return;
    on = event.newValue === "true";
    show();
  });
  show();
  return () => on;
}

/** The relay-only setting (checkboxes of class `relay-only`). */
export function relayOnlySetting() {
  return checkboxSetting(RELAY_ONLY, "relay-only");
}

/** The save-straight-to-Downloads setting (checkboxes of class `stream-to-downloads`). */
export function streamToDownloadsSetting() {
  return checkboxSetting(STREAM_TO_DOWNLOADS, "stream-to-downloads");
}
