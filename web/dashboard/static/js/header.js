// The header: a count per status (the server's statuses, in its order), paused or running,
// the workers and how many jobs they run of how many they may, the done rate, and the last
// hour's chart. The counts are read again when events say they changed; the workers come
// with the server's `workers` summary on the event stream.
import { renderByName } from "./byname.js";
import { $, el, setText } from "./dom.js";
import { number } from "./format.js";
import { Refresher } from "./refresher.js";

export class Header {
  /** `onThrottled()` runs when the throttled count differs from the Limits tab's rows. */
  constructor({ api, state, chart, onThrottled = () => {} }) {
    this.api = api;
    this.state = state;
    this.chart = chart;
    this.onThrottled = onThrottled;
    this.refresher = new Refresher(() => this.#load(), 1000);
  }

  request() { this.refresher.request(); }

  async #load() {
    this.#render(await this.api.metrics());
  }

  /** The workers of the queue shown (its `workers` summary). */
  renderWorkers(workers) {
    this.state.workers = workers;
    const concurrency = workers.reduce((n, w) => n + w.concurrency, 0);
    const busy = workers.reduce((n, w) => n + w.running, 0);
    setText("workers-summary", `${workers.length} worker${workers.length === 1 ? "" : "s"} · running ${busy} of ${concurrency}`);
  }

  #render(metrics) {
    const state = this.state;
    const counts = $("counts");
    const statuses = state.vocab.statuses;
    if (counts.dataset.statuses !== statuses.join(",")) {
      counts.dataset.statuses = statuses.join(",");
      counts.replaceChildren(...statuses.map((status) =>
        el("div", { className: status }, [el("dt", { text: state.vocab.label(status) }), el("dd", { attrs: { id: `count-${status}` } })])));
    }
    state.depths = metrics.depths;
    for (const status of statuses) setText(`count-${status}`, number(metrics.depths[status] ?? 0));
    state.paused = metrics.paused;
    this.renderPaused();
    // Pending jobs waiting aside (counted in Pending too): held by a limit, or no live
    // worker has their handler; the names and limits are in the pill's title.
    const held = [
      [metrics.throttled, "throttled", metrics.held.throttled],
      [metrics.unserved, "unserved", metrics.held.unserved],
    ].filter(([n]) => n > 0);
    if (state.tab === "limits" && !state.jobId) {
      // a job is held by a claim, with no event of its own: the header's count says so
      const shown = state.rows.reduce((n, l) => n + (l.throttled ?? 0), 0);
      if (shown !== metrics.throttled) this.onThrottled();
    }
    const pill = $("held-summary");
    pill.hidden = held.length === 0;
    setText(pill, held.map(([n, word]) => `${number(n)} ${word}`).join(" · "));
    pill.title = held.map(([, word, by]) => `${word}: ${Object.entries(by).map(([k, n]) => `${k} ${n}`).join(", ")}`).join("\n");
    setText("rate", `${metrics.throughput_10s.toFixed(1)} completed/s`);
    state.byName = metrics.by_name;
    if ($("by-name-box").open) renderByName(state);
  }

  renderPaused() {
    const pill = $("paused");
    pill.dataset.paused = String(this.state.paused);
    setText(pill, this.state.paused ? "paused" : "running");
    setText("pause-btn", this.state.paused ? "Resume" : "Pause");
  }

  /** The chart's range from the server's history (and again after a gap in the events). */
  async seedChart() {
    const { step, count } = this.chart.range;
    try {
      this.chart.seed(await this.api.history(step, count));
    } catch {
      /* the chart fills from live events */
    }
    this.chart.draw();
    setText("chart-range", this.chart.range.label);
  }
}
