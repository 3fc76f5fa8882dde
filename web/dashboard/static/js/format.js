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
  if (s < 3600) return `${Math.floor(s / 60)} m ${Math.floor(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
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
  const text = String(id ?? "");
  return text.length > 14 ? text.slice(0, 12) + "…" : text;
}

/** JSON for a <pre>, bounded so one huge result cannot freeze the page. */
export function pretty(value, limit = 20000) {
  let text;
  try {
    text = JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  if (text === undefined) text = "";
  return text.length > limit ? text.slice(0, limit) + `\n… (${number(text.length - limit)} more characters)` : text;
}

/** One line of untrusted text for a table cell: control characters made visible, bounded. */
export function oneLine(value, limit = 200) {
  // eslint-disable-next-line no-control-regex
  const text = String(value ?? "").replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, " ");
  return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
}
