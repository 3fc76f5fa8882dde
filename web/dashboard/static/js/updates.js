// Live events applied to the page: a row that leaves the tab on screen goes at once, a
// progress bar moves in place, the chart counts completions, and whatever changed is read
// again from the server (throttled), so what shows ends up being what the server says.
import { TABS } from "./columns.js";

export class LiveUpdates {
  /** `view` and `header` are refreshers (request() reads again, throttled); `forget(ids)`
   * drops jobs that left the tab from a search's results. */
  constructor({ state, table, view, header, chart, forget }) {
    this.forget = forget;
    this.state = state;
    this.table = table;
    this.view = view;
    this.header = header;
    this.chart = chart;
  }

  apply(events, overflowed) {
    const state = this.state;
    let refetch = overflowed;
    let counts = overflowed;
    let redraw = false;
    const spec = TABS[state.tab];
    const current = spec.statuses(state.vocab);
    const byId = new Map(state.rows.map((row) => [spec.key(row), row]));
    const moved = new Set();
    for (const ev of events) {
      if (ev.type === "JOB_COMPLETED") this.chart.add(ev.timestamp, "done");
      else if (ev.type === "JOB_FAILED") this.chart.add(ev.timestamp, "failed");
      if (ev.type === "QUEUE_PAUSED" || ev.type === "QUEUE_RESUMED") {
        state.paused = ev.type === "QUEUE_PAUSED";
        this.header.renderPaused();
      }
      if (ev.type !== "JOB_PROGRESS") counts = true;
      if (state.jobId) {
        if (ev.job_id === state.jobId) refetch = true;
        continue;
      }
      if (state.tab === "workers") {
        if (ev.type.startsWith("JOB_SERVICE_WORKERS") || ev.type === "WORKER_LOOP_BLOCKED" || ev.type === "JOB_STARTED" || ev.type === "JOB_COMPLETED") refetch = true;
        continue;
      }
      if (state.tab === "schedules") {
        if (ev.type.startsWith("SCHEDULE_")) refetch = true;
        continue;
      }
      if (state.tab === "limits") {
        // a limit changed, or a job came, started or ended: what runs and waits under it
        if (ev.type !== "JOB_PROGRESS") refetch = true;
        continue;
      }
      if (ev.type === "JOBS_PURGED") refetch = true;
      if (!ev.job_id) continue;
      const row = byId.get(ev.job_id);
      if (row) {
        if (ev.type === "JOB_PROGRESS") {
          row.progress = { fraction: ev.data.fraction, message: ev.data.message };
          redraw = true;
        } else if (ev.status && !current.includes(ev.status)) {
          moved.add(ev.job_id); // it left this tab: take it off now, refill from the server
          byId.delete(ev.job_id);
          refetch = true;
        } else if (ev.status) {
          refetch = true;
        }
      } else if (ev.status && current.includes(ev.status)) {
        moved.delete(ev.job_id);
        refetch = true;
      }
    }
    if (moved.size) {
      this.forget(moved);
      state.rows = state.rows.filter((row) => !moved.has(spec.key(row)));
      state.total = Math.max(0, state.total - moved.size);
      redraw = true;
    }
    if (redraw && !state.jobId) this.table.render();
    if (refetch) this.view.request();
    if (counts) this.header.request();
    if (overflowed) this.header.seedChart(); // events were lost: the chart's counts too
    this.chart.draw();
  }
}
