// Formatting helpers shared by the tables and the job page.

const PRIORITIES = { 0: "low", 1: "normal", 2: "high", 3: "critical" };

export function priorityLabel(value) {
  if (typeof value === "string") return value.toLowerCase();
  return PRIORITIES[value] ?? String(value ?? "");
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const two = (big, bigUnit, small, smallUnit) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);
  if (s < 3600) return two(Math.floor(s / 60), "m", Math.floor(s % 60), "s");
  if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "m");
  return two(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
}

/** Seconds since a unix timestamp (seconds), against the page's clock. */
export function age(timestamp) {
  if (!timestamp) return "";
  return duration(Date.now() / 1000 - timestamp);
}

export function clock(timestamp) {
  if (!timestamp) return "";
  const d = new Date(timestamp * 1000);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

export function dateTime(timestamp) {
  if (!timestamp) return "";
  return new Date(timestamp * 1000).toLocaleString([], { hour12: false });
}

export const number = (n) => (Number.isFinite(n) ? n.toLocaleString("en-US") : "–");

export function shortId(id) {
  const text = oneLine(id);
  return text.length > 14 ? text.slice(0, 12) + "…" : text;
}

// What must never reach the page as a raw character: controls, format characters (bidi
// overrides, zero-width, BOM), line/paragraph separators and lone surrogates. They can hide
// or reorder text (an "invoice_\u202egnp.exe"), so they are shown as visible marks instead.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const UNSAFE_MULTILINE = /(?![\n\t])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const mark = (c) => `\u27e8U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}\u27e9`;

/** Text for a <pre> (newlines and tabs kept), bounded so a huge value cannot freeze the page. */
export function safeText(value, limit = 20000) {
  let text = String(value ?? "");
  const extra = text.length - limit;
  if (extra > 0) text = text.slice(0, limit);
  text = text.replace(UNSAFE_MULTILINE, mark);
  return extra > 0 ? `${text}\n… (${number(extra)} more characters)` : text;
}

/** JSON for a <pre>; in JSON, unsafe characters can only be inside strings, so they are
 * written as the \uXXXX escapes JSON allows there. */
export function pretty(value, limit = 20000) {
  let text;
  try {
    text = JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  if (text === undefined) text = "";
  text = text.replace(UNSAFE_MULTILINE, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  return safeText(text, limit);
}

/** One line of untrusted text for a table cell: unsafe characters made visible, bounded. */
export function oneLine(value, limit = 200) {
  const text = String(value ?? "").replace(/[\n\t]/g, " ").replace(UNSAFE, mark);
  return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
}
