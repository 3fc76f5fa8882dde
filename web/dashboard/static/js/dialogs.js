// Confirmation and "how many" questions, in a <dialog>; the text is set with textContent.
import { $ } from "./dom.js";

function ask(title, text, { number = null } = {}) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  const input = $("confirm-input");
  input.hidden = number === null;
  if (number !== null) input.value = String(number);
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "yes" ? (number === null ? true : input.value) : null),
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    if (number !== null) {
      input.focus();
      input.select();
    } else {
      $("confirm-yes").focus();
    }
  });
}

/** True when the operator says yes. */
export async function confirmAction(title, text) {
  return (await ask(title, text)) === true;
}

/** A whole number 0-10000, or null when the operator backs out. */
export async function askCount(title, text, current) {
  const answer = await ask(title, text, { number: current });
  if (answer === null || answer === "") return null;
  const value = Number(answer);
  return Number.isInteger(value) && value >= 0 && value <= 10000 ? value : null;
}
