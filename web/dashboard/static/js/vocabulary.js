// The server's words, read once per session (api/v1/vocabulary): every status in the order a
// job meets them and which are finished, and every event type. Tabs, counts, status choices
// and the event subscriptions are built from them, so a status or event type the server adds
// shows here without an edit. Only the labels of the statuses we know are spelled here.


export class Vocabulary {
  constructor(reply) {
    this.statuses = reply.statuses;
    this.finished = new Set(reply.finished);
    this.eventTypes = reply.event_types;
    this.priorities = reply.priorities;
  }

  /** "pending" -> "Pending": a status reads as its own word everywhere (the API, stats,
   *  Prometheus, the console), "failed" included; the tab listing them is "Dead letters". */
  label(status) {
    return status.charAt(0).toUpperCase() + status.slice(1);
  }

  /** Statuses of jobs that have not started: the Pending tab's choices. */
  notStarted() {
    return this.statuses.filter((s) => !this.finished.has(s) && s !== "running");
  }

  /** Finished statuses but the dead letters: the History tab's choices. */
  history() {
    return this.statuses.filter((s) => this.finished.has(s) && s !== "failed");
  }
}
