// What the page shows, in one object the modules are handed. Each field says who writes it.

export const PAGE = 50; // rows per page: the server pages, the page holds one

export function createState() {
  return {
    session: null, // session.js: who is signed in (GET api/v1/session)
    queue: null, // main: the queue shown (the served one, or another of its prefix)
    vocab: null, // session start: the server's words (vocabulary.js)
    canOperate: false, // session start: an operate key, and the server is not read-only
    schedules: false, // session start: the server offers schedules
    tab: "pending", // router
    sub: {}, // tab -> the status chosen in its status menu (Pending, History)
    page: 0, // views: page index of the list
    filter: "", // views: the filter box's text
    sort: { key: null, dir: null }, // table: a column sorts the page shown
    rows: [], // views: the page of rows shown
    total: 0, // views: how many rows the list has on the server
    jobId: null, // router: the job page's job, or null on a tab
    job: null, // job page: the job shown, once read (actions act on it)
    depths: {}, // header: jobs per status
    byName: {}, // header: completed and failed per job name, since the queue began
    paused: false, // header: whether the queue is paused
    workers: null, // main: live workers (the server's `workers` summary)
    overview: null, // main: every queue's summary (the server's `queues` summary)
    workerQueues: new Map(), // views: worker id -> the queues it serves (from the overview)
  };
}
