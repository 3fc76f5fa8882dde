// The job page: facts, arguments, progress, result, error and traceback, the timeline of its
// events (timeline.js), and the actions that fit the job's status.
import { jobLink } from "./columns.js";
import { $, el, setText, show, toast } from "./dom.js";
import { clock, dateTime, duration, number, oneLine, pretty, priorityLabel, safeText } from "./format.js";
import { JobTimeline, describe } from "./timeline.js";

function fact(list, label, value) {
  if (value === undefined || value === null || value === "") return;
  list.append(el("dt", { text: label }), el("dd", { text: oneLine(value, 300) }));
}

const ACTIONS = ["run_now", "retry", "cancel", "delete"]; // on the page, those that fit

export class JobPage {
  /** `buttons(action, current, key)` makes an action's buttons (actions.js). */
  constructor({ api, state, buttons }) {
    this.api = api;
    this.state = state;
    this.buttons = buttons;
    this.timeline = new JobTimeline({ api });
  }

  /** A new job id on screen: nothing of the previous job may stay, its buttons least of all
   * (they would act on the job shown before). */
  open(id) {
    this.state.jobId = id;
    this.timeline.reset(id);
    this.#forget();
    setText("job-name", "");
    setText("job-status", "");
    setText("job-id", oneLine(id, 300));
    $("job-facts").replaceChildren();
    $("job-timeline").replaceChildren();
    $("job-args").textContent = "";
    const boxes = ["job-progress-box", "job-result-box", "job-error-box", "job-meta-box", "job-family-box"];
    for (const box of boxes) show(box, false);
  }

  async load() {
    const id = this.state.jobId;
    let job;
    try {
      job = await this.api.job(id);
    } catch (error) {
      if (id !== this.state.jobId) return;
      if (error.status === 404) this.#notFound(id);
      else toast(error.message);
      return;
    }
    if (id !== this.state.jobId) return;
    this.state.job = job;
    this.#render(job);
    const finished = this.state.vocab.finished.has(job.status);
    this.#renderActions(job);
    if (await this.timeline.read(job, finished)) this.#renderTimeline();
  }

  #renderTimeline() {
    const timeline = this.timeline;
    const notes = [];
    if (timeline.trimmed) notes.push("Its earliest events were dropped from the log (the log keeps the newest).");
    if (timeline.dropped) notes.push(`${number(timeline.dropped)} earlier events not shown.`);
    $("job-timeline").replaceChildren(
      ...notes.map((text) => el("li", { className: "muted", text })),
      ...timeline.events.map((event) =>
        el("li", { attrs: { "data-type": event.type } }, [
          el("time", { text: clock(event.timestamp) }),
          document.createTextNode(oneLine(describe(event), 300)),
        ]),
      ),
    );
  }

  #forget() {
    this.state.job = null;
    $("job-actions").replaceChildren();
    $("job-actions").dataset.actions = "";
  }

  /** The actions that fit the job's status now, acting on the job as last read. */
  #renderActions(job) {
    const box = $("job-actions");
    if (!this.state.canOperate) return;
    const fitting = ACTIONS.flatMap((action) => this.buttons(action, () => this.state.job, job.id)).filter((b) => b.fits(job));
    const now = fitting.map((b) => b.dataset.action).join(",");
    if (box.dataset.actions === now && box.children.length === fitting.length) return;
    box.dataset.actions = now;
    box.replaceChildren(...fitting);
  }

  #notFound(id) {
    this.open(id);
    setText("job-name", "No such job");
    setText("job-args", "It may have been purged, or the id is mistyped.");
  }

  /** Its parents and children (GET /jobs/{id} lists the first 50 of each), each a link to
   * its page with its status; the rest counted. */
  #renderFamily(job) {
    const parents = job.parent_statuses ?? [];
    const children = job.children ?? [];
    const many = (job.parents_total ?? 0) + (job.children_total ?? 0);
    show("job-family-box", many > 0);
    const items = (listed, total) => [
      ...listed.map((rel) =>
        el("li", {}, [jobLink(rel.id), el("span", { className: `badge ${rel.status ?? "gone"}`, text: rel.status ?? "gone" })]),
      ),
      ...(total > listed.length ? [el("li", { className: "muted", text: `… ${number(total - listed.length)} more` })] : []),
      ...(total === 0 ? [el("li", { className: "muted", text: "none" })] : []),
    ];
    $("job-parents").replaceChildren(...items(parents, job.parents_total ?? 0));
    $("job-children").replaceChildren(...items(children, job.children_total ?? 0));
  }

  #render(job) {
    setText("job-name", oneLine(job.name, 200));
    const badge = $("job-status");
    badge.textContent = oneLine(job.status, 20);
    badge.className = `badge ${job.status}`;
    setText("job-id", oneLine(job.id, 300));

    const facts = $("job-facts");
    facts.replaceChildren();
    fact(facts, "Priority", priorityLabel(job.priority));
    fact(facts, "Attempts", `${job.attempts} of ${job.max_retries + 1}`);
    fact(facts, "Timeout", job.timeout ? duration(job.timeout) : "none");
    fact(facts, "Worker", job.worker);
    fact(facts, "Submitted", dateTime(job.created_at));
    fact(facts, "Due", job.status === "scheduled" ? dateTime(job.scheduled_for) : "");
    fact(facts, "Started", dateTime(job.started_at));
    fact(facts, "Finished", dateTime(job.finished_at));
    if (job.run_time !== null) fact(facts, "Run time", duration(job.run_time));
    if (job.stalls) fact(facts, "Stalls", String(job.stalls));
    // workflows: what it waits for, what it does if a parent fails, when it expires
    if (job.status === "waiting") fact(facts, "Waiting for", `${job.waiting_for} of ${job.parents.length} parents`);
    if (job.parents?.length && job.on_parent_failure !== "fail") fact(facts, "If a parent fails", job.on_parent_failure);
    if (job.expires_at && !job.started_at) fact(facts, "Expires", dateTime(job.expires_at));
    // limits: what it runs under and whether that holds it now, and its fairness group
    const held = job.throttled && job.status === "pending" ? (job.throttled === job.limit ? " (throttled)" : ` (throttled by ${job.throttled})`) : "";
    if (job.limit) fact(facts, "Limit", `${job.limit}${held}`);
    fact(facts, "Group", job.group);
    this.#renderFamily(job);

    $("job-args").textContent = pretty({ args: job.args, kwargs: job.kwargs });
    const meta = job.meta && Object.keys(job.meta).length ? job.meta : null; // submit_job(meta=)
    show("job-meta-box", meta !== null);
    $("job-meta").textContent = meta === null ? "" : pretty(meta);
    show("job-progress-box", job.status === "running");
    if (job.status === "running") {
      const pct = Math.round(Math.max(0, Math.min(1, Number(job.progress.fraction) || 0)) * 100);
      const fill = el("span");
      fill.style.width = `${pct}%`;
      $("job-progress").replaceChildren(
        el("span", { className: "bar" }, [fill]),
        document.createTextNode(` ${pct}%  ${oneLine(job.progress.message, 300)}`),
      );
    }
    show("job-result-box", job.status === "completed");
    if (job.status === "completed") $("job-result").textContent = pretty(job.result);
    show("job-error-box", Boolean(job.error));
    if (job.error) {
      $("job-error").textContent = safeText(`${job.error.type}: ${job.error.message}`);
      show("job-tb-box", Boolean(job.error.traceback));
      $("job-traceback").textContent = safeText(job.error.traceback || "");
    }
  }
}
