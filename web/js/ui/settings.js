/**
 * The person's settings, kept in this browser (localStorage) and shown by every
 * checkbox that stands for one: ticking one ticks its twins on the other tab.
 * @module ui/settings
 */

/** Hide my address from the other side: ICE may use only a TURN relay (PROTOCOL.md 3.5). */
const RELAY_ONLY = "sendit.relay-only";

/**
 * Binds the checkboxes of class `relay-only` to the stored setting; returns a function
 * that tells whether it is on now.
 * @returns {() => boolean}
 */
export function relayOnlySetting() {
  const boxes = [...document.querySelectorAll("input.relay-only")];
  // Storage may be refused (a private window's policy): the setting then lasts as long as the page.
  let on = false;
  try {
    on = localStorage.getItem(RELAY_ONLY) === "true";
  } catch {}
  const show = () => boxes.forEach((box) => (box.checked = on));
  for (const box of boxes) {
    box.addEventListener("change", () => {
      on = box.checked;
      show();
      try {
        localStorage.setItem(RELAY_ONLY, String(on));
      } catch {}
    });
  }
  // Another tab of this page changed it.
  window.addEventListener("storage", (event) => {
    if (event.key !== RELAY_ONLY) return;
    on = event.newValue === "true";
    show();
  });
  show();
  return () => on;
}
