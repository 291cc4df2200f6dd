/**
 * The one place the page asks the person where files go, through the File System
 * Access API (Chromium): a file for one file, a folder for several. Each call must
 * come straight from the Accept click (the browser wants the person's gesture).
 *
 * The seam for tests: headless Chromium refuses the pickers, so a test page calls
 * `answerPickersWith(directory)` with a directory handle of its own (an OPFS folder:
 * the same interface); from then on the folder picker gives that directory, and the
 * file picker a file of the suggested name in it. Nothing else calls it.
 * @module transfer/store/pickers
 */

/** @type {FileSystemDirectoryHandle | null} */
let answer = null;

/** For tests only: the pickers give `directory` (see above) instead of asking. */
export function answerPickersWith(directory) {
  answer = directory;
}

/** Whether this browser can ask where files go. */
export function canPick() {
  return answer !== null || (typeof window.showDirectoryPicker === "function" && typeof window.showSaveFilePicker === "function");
}

/** The folder the person picks, writable; rejects (AbortError) if they pick none. */
export function pickFolder() {
  return answer ? Promise.resolve(answer) : window.showDirectoryPicker({ id: "sendit-receive", mode: "readwrite" });
}

/** The file the person picks to save `suggestedName` as; rejects (AbortError) if none. */
export function pickFile(suggestedName) {
  return answer
    ? answer.getFileHandle(suggestedName, { create: true })
    : window.showSaveFilePicker({ id: "sendit-receive", suggestedName });
}
