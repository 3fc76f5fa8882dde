// The filter over a whole queue: the server's search (GET api/v1/search: id prefixes, and
// text in names, args, kwargs, errors, meta), resumed a bounded step per round, as the console's
// filter does. Matches grow on screen until the lists were read to their end or MAX_ROWS are
// held; once a pass is done, a later pass (when events say something changed, at most every
// few seconds) runs in the background while the last complete result stays on screen.

const FIRST_BUDGET = 2000; // records the server reads for a pass's first request (a keystroke)
const BUDGET = 10000; // and for each request after it
const REQUESTS = 2; // requests per round
const MAX_ROWS = 1000; // matches held
const PASS_GAP = 5000; // ms between background passes

function newPass() {
  return { rows: [], seen: new Set(), cursor: null, scanned: 0, done: false, started: 0 };
}

export class JobSearch {
  constructor({ api }) {
    this.api = api;
    this.key = null;
    this.shown = null; // the last complete pass
    this.current = newPass();
  }

  /** Continue the search for `text` in `statuses`; what to show now. */
  async step(text, statuses) {
    const key = `${statuses.join(",")}|${text}`;
    if (this.key !== key) {
      this.key = key;
      this.shown = null;
      this.current = newPass();
    } else if (this.current.done) {
      if (performance.now() - this.current.started < PASS_GAP) return this.#result();
      this.shown = this.current;
      this.current = newPass();
    }
    const run = this.current;
    run.started ||= performance.now();
    for (let n = 0; n < REQUESTS && !run.done; n++) {
      const budget = run.scanned === 0 ? FIRST_BUDGET : BUDGET; // the first matches show fast
      const page = await this.api.search({
        text, statuses, cursor: run.cursor, limit: Math.min(500, MAX_ROWS - run.rows.length), budget,
      });
      if (this.key !== key) return null; // the operator typed on meanwhile
      run.scanned += page.scanned;
      for (const job of page.jobs) {
        if (!run.seen.has(job.id)) {
          run.seen.add(job.id);
          run.rows.push(job);
        }
      }
      run.cursor = page.cursor;
      run.done = page.cursor === null || run.rows.length >= MAX_ROWS;
    }
    return this.#result();
  }

  #result() {
    const run = this.current;
    const shown = run.done || this.shown === null ? run : this.shown;
    return { rows: shown.rows, scanned: shown.scanned, done: shown.done };
  }

  /** Jobs that left the tab (live events): they leave the results shown at once. */
  forget(ids) {
    for (const run of [this.shown, this.current]) {
      if (run) run.rows = run.rows.filter((job) => !ids.has(job.id));
    }
  }

  /** A job whose id is exactly `text`, in any status (one read on the server), or null. */
  async exactId(text) {
    const page = await this.api.search({ text, limit: 1, budget: 1 });
    return page.jobs.length && page.jobs[0].id === text ? page.jobs[0] : null;
  }
}
