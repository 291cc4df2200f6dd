/**
 * The receive page: enter a code (or open a link), see what is offered, accept,
 * and save each file once it is verified.
 * @module transfer/receive-page
 */

import { ServerError, ask, openChannel } from "../signalling/link.js";
import { InvalidCode, formatCode, normalizeCode } from "./protocol.js";
import { SocketClient } from "../signalling/socketio.js";
import { Receiver } from "./machines.js";
import { TotalProgress, count, baseName, el, fileRow, formatBytes, setStatus } from "../ui/dom.js";

const $ = (id) => document.getElementById(id);

/** The server's error texts, in plain words for the person at the keyboard. */
const JOIN_ERRORS = {
  "code not found or expired":
    "No transfer is waiting under this code. Check it for typos, or ask the sender for a new one (codes expire).",
  "code already used": "This code has already been used by someone else. Ask the sender for a new code.",
  "too many attempts": "Too many wrong codes from your network. Wait a minute, then try again.",
};

export function setupReceivePage() {
  let socket = null;
  let pc = null;
  let transfer = null;
  let ended = false;
  const status = $("receive-status");
  const saved = [];

  // As on the send page: the first ending wins, connections close once `settled` has.
  const end = (text, kind, settled = Promise.resolve()) => {
    if (ended) return;
    ended = true;
    setStatus(status, text, kind);
    $("offer-actions").hidden = true;
    $("receive-again").hidden = false;
    settled.finally(() => {
      pc?.close();
      socket?.close();
    });
  };
  const fail = (reason) => {
    transfer?.abort(reason);
    const damaged = /hash mismatch: (.*)$/.exec(reason);
    end(damaged
      ? `Failed: "${damaged[1]}" arrived damaged (hash mismatch: its SHA-256 did not match), so it was thrown away. Ask the sender to try again.`
      : `Failed: ${reason}.`, "error");
  };

  const join = async (text) => {
    let code;
    try {
      code = formatCode(normalizeCode(text));
    } catch (error) {
      if (!(error instanceof InvalidCode)) throw error;
      setStatus(status, `That is not a SendIt code: ${error.message}.`, "error");
      return;
    }
    $("receive-form").hidden = true;
    $("receive-code").textContent = code;
    setStatus(status, "Looking up the code…");
    let joined;
    try {
      socket = await SocketClient.connect();
      joined = await ask(socket, "join", { code });
    } catch (error) {
      // Nothing has started: let the person correct the code and try again.
      socket?.close();
      socket = null;
      $("receive-form").hidden = false;
      $("receive-code").textContent = "";
      const reason = error instanceof ServerError
        ? JOIN_ERRORS[error.message] ?? `The server refused: ${error.message}.`
        : `Could not reach the SendIt server (${error.message}).`;
      setStatus(status, reason, "error");
      $("code-input").select();
      return;
    }
    try {
      socket.on("cancelled", ({ by, reason }) => fail(by === "sender" ? "the sender cancelled" : reason || "cancelled"));
      socket.on("peer_left", () => fail("the sender left before the transfer finished"));
      setStatus(status, "Connecting directly to the sender…");
      const connection = await openChannel(socket, joined.ice_servers, "receiver");
      pc = connection.pc;
      setStatus(status, "Connected. Waiting for the list of files…");
      const files = await runReceiver(connection.channel);
      if (files) {
        end(`All ${count(files.length, "file")} received and verified. Save them below.`, "ok",
          ask(socket, "done").catch(() => {}));
        // Accept, which had the focus, is gone: hand it to what comes next.
        saved[0].focus();
      } else {
        end("You declined the files. Nothing was received.", "info",
          ask(socket, "cancel", { reason: "the receiver declined" }).catch(() => {}));
      }
    } catch (error) {
      fail(error.message);
    }
  };

  const askToAccept = (files) => {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    $("offer-summary").textContent = `The sender offers ${count(files.length, "file")}, ${formatBytes(total)}.`;
    $("offer").hidden = false;
    $("offer-actions").hidden = false;
    setStatus(status, "Accept to start the transfer.");
    $("accept").focus();
    return new Promise((resolve) => {
      $("accept").onclick = () => resolve(true);
      $("decline").onclick = () => resolve(false);
    }).finally(() => ($("offer-actions").hidden = true));
  };

  const runReceiver = async (channel) => {
    let rows = [];
    let offered = [];
    let progress = null;
    transfer = new Receiver(channel, {
      onManifest: async (files) => {
        offered = files;
        rows = files.map(fileRow);
        $("receive-files").append(...rows.map((r) => r.row));
        const accepted = await askToAccept(files);
        if (accepted) {
          $("receive-progress").hidden = false;
          setStatus(status, "Receiving…");
          progress = new TotalProgress($("receive-total"), $("receive-rate"), files.reduce((sum, f) => sum + f.size, 0));
        }
        return accepted;
      },
      onProgress: ({ index, fileBytes, receivedBytes }) => {
        progress.update(receivedBytes, rows[index].bar, fileBytes);
      },
      onFile: (index, blob) => {
        const { bar, state, actions } = rows[index];
        bar.value = bar.max;
        state.textContent = "verified ✓";
        const link = el("a", { class: "button save", href: URL.createObjectURL(blob), download: baseName(offered[index].name) }, "Save");
        saved.push(link);
        actions.append(link);
        $("save-all").hidden = saved.length < 2;
      },
    });
    const files = await transfer.run();
    progress?.finish();
    return files;
  };

  $("receive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    join($("code-input").value);
  });
  $("save-all").addEventListener("click", () => saved.forEach((link) => link.click()));
  $("receive-again").addEventListener("click", () => location.assign("/"));
  window.addEventListener("beforeunload", (event) => {
    if (transfer && !ended) event.preventDefault();
  });

  return { join };
}
