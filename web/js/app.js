/**
 * Entry point of the page. Outside a secure context (plain HTTP anywhere but on this computer)
 * the browser withholds the cryptography SendIt needs, and a transfer would fail once
 * it began: the page says what to do instead, before anything that opens a socket or
 * touches the cryptography is even loaded.
 * @module app
 */

import { insecureWords } from "./ui/words.js";

const $ = (id) => document.getElementById(id);

if (isSecureContext) {
  await import("./tabs.js");
} else {
  const { title, why, ways } = insecureWords(location);
  for (const id of ["send-view", "receive-view", "mode-tabs"]) $(id).hidden = true;
  $("insecure-title").textContent = title;
  $("insecure-why").textContent = why;
  $("insecure-ways").replaceChildren(...ways.map((way) => Object.assign(document.createElement("li"), { textContent: way })));
  $("insecure-view").hidden = false;
  document.body.dataset.ready = "true";
}
