// The job page: facts, arguments, progress, result, error and traceback, timeline.
import { $, el, setText, show } from "./dom.js";
import { clock, dateTime, duration, oneLine, pretty, priorityLabel, safeText } from "./format.js";

function fact(list, label, value) {
  if (value === undefined || value === null || value === "") return;
  list.append(el("dt", { text: label }), el("dd", { text: oneLine(value, 300) }));
}

/** What happened, from the server's timeline when it sends one, else from the record. */
function timelineOf(job) {
  if (Array.isArray(job.timeline) && job.timeline.length) {
    return job.timeline.map((step) => ({
      at: Number(step.timestamp ?? step.at ?? step.time) || 0,
      text: step.what ?? step.text ?? step.description ?? step.type ?? "",
    }));
  }
  const steps = [];
  if (job.created_at) steps.push({ at: job.created_at, text: "submitted" });
  if (job.started_at) steps.push({ at: job.started_at, text: `started on ${job.worker || "?"} (attempt ${job.attempts})` });
  if (job.finished_at) steps.push({ at: job.finished_at, text: job.status });
  if (job.status === "scheduled" && job.scheduled_for) steps.push({ at: job.scheduled_for, text: "due" });
  return steps.sort((a, b) => a.at - b.at);
}

export function renderJob(job) {
  setText("job-name", oneLine(job.name, 200));
  const badge = $("job-status");
  badge.textContent = oneLine(job.status, 20);
  badge.className = `badge ${job.status}`;
  setText("job-id", oneLine(job.id, 300));

  const facts = $("job-facts");
  facts.replaceChildren();
  fact(facts, "Priority", priorityLabel(job.priority));
  fact(facts, "Attempts", `${job.attempts ?? 0} of ${(job.max_retries ?? 0) + 1}`);
  fact(facts, "Timeout", job.timeout ? duration(job.timeout) : "none");
  fact(facts, "Worker", job.worker);
  fact(facts, "Submitted", dateTime(job.created_at));
  fact(facts, "Due", job.status === "scheduled" ? dateTime(job.scheduled_for) : "");
  fact(facts, "Started", dateTime(job.started_at));
  fact(facts, "Finished", dateTime(job.finished_at));
  if (job.started_at && job.finished_at) fact(facts, "Run time", duration(job.finished_at - job.started_at));
  if (job.stalls) fact(facts, "Stalls", String(job.stalls));

  const timeline = $("job-timeline");
  timeline.replaceChildren(
    ...timelineOf(job).map((step) =>
      el("li", {}, [el("time", { text: clock(step.at) }), document.createTextNode(oneLine(step.text, 300))]),
    ),
  );

  $("job-args").textContent = pretty({ args: job.args ?? [], kwargs: job.kwargs ?? {} });
  const progress = job.progress || {};
  show("job-progress-box", job.status === "running");
  if (job.status === "running") {
    const pct = Math.round(Math.max(0, Math.min(1, Number(progress.fraction) || 0)) * 100);
    const fill = el("span");
    fill.style.width = `${pct}%`;
    $("job-progress").replaceChildren(
      el("span", { className: "bar" }, [fill]),
      document.createTextNode(` ${pct}%  ${oneLine(progress.message, 300)}`),
    );
  }
  show("job-result-box", job.status === "completed");
  if (job.status === "completed") $("job-result").textContent = pretty(job.result ?? null);
  show("job-error-box", Boolean(job.error));
  if (job.error) {
    $("job-error").textContent = safeText(`${job.error.type || "Error"}: ${job.error.message || ""}`);
    show("job-tb-box", Boolean(job.error.traceback));
    $("job-traceback").textContent = safeText(job.error.traceback || "");
  }
}
