// The History tab's table of done and failed per job name since the queue began (the
// header's metrics carry them: at most ~200 names, the rest under "other").
import { $, el } from "./dom.js";
import { number, oneLine } from "./format.js";

const SHOWN = 20;
let shown = ""; // what the table shows now: the header's metrics arrive often, mostly unchanged


/** The names that failed most first, then the busiest; the first few. */
export function renderByName(state) {
  const names = Object.entries(state.byName).sort(([, a], [, b]) => b.failed - a.failed || b.completed - a.completed);
  const key = JSON.stringify([names.length, ...names.slice(0, SHOWN).map(([name, c]) => [name, c.completed, c.failed])]);
  if (key === shown) return; // re-rendering the same rows would only replace them under the reader
  shown = key;
  const rows = names.slice(0, SHOWN).map(([name, counts]) =>
    el("tr", {}, [
      el("td", { text: oneLine(name, 80) }),
      el("td", { className: "num", text: number(counts.completed) }),
      el("td", { className: `num${counts.failed ? " error" : ""}`, text: number(counts.failed) }),
    ]));
  if (names.length > SHOWN) rows.push(el("tr", {}, [el("td", { className: "muted", text: `and ${number(names.length - SHOWN)} more` })]));
  if (!names.length) rows.push(el("tr", {}, [el("td", { className: "muted", text: "none yet" })]));
  $("by-name").replaceChildren(...rows);
}
