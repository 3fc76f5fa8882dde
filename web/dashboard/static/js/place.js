// Where the page is, in its address's hash: `#pending` (a tab) and `#job/<id>` for the
// queue the server serves; `#queue/<name>/pending` and `#queue/<name>/job/<id>` for another
// queue of its prefix; `#queues` for the overview of every queue. Links are built here.

let queuePart = ""; // "" for the served queue, else "queue/<name>/"

/** Links from now on are to `queue` (null: the served one). */
export function linkQueue(queue) {
  queuePart = queue === null ? "" : `queue/${encodeURIComponent(queue)}/`;
}

export const tabHash = (tab) => `#${queuePart}${tab}`;
export const jobHash = (id) => `#${queuePart}job/${encodeURIComponent(id)}`;
export const queueHash = (queue, served, tab = "pending") =>
  queue === served ? `#${tab}` : `#queue/${encodeURIComponent(queue)}/${tab}`;

/** `{queue, tab, jobId}` of a hash (decoded; queue null for the served queue, tab
 * "queues" for the overview), or null when it cannot be read. */
export function parse(hash) {
  let parts;
  try {
    parts = hash.replace(/^#/, "").split("/").map(decodeURIComponent);
  } catch {
    return null; // a malformed escape
  }
  let queue = null;
  if (parts[0] === "queue" && parts.length >= 3) {
    queue = parts[1];
    parts = parts.slice(2);
  }
  if (parts[0] === "job" && parts.length >= 2) return { queue, tab: null, jobId: parts.slice(1).join("/") };
  return { queue, tab: parts[0] || "", jobId: null };
}
