/* CaseHub console: a browser view of the hub's HTTP API and live stream for case managers
   and everyone else who takes part in a case. Plain script, no build step, no dependencies.
   Every visible text comes from the i18n block the server renders into the page, and every
   piece of data reaches the page through textContent, never as HTML. */
(() => {
  "use strict";

  const TOKEN_KEY = "casehub.token";
  const PAGE_SIZE = 50;
  const MESSAGE_EVENTS = new Set(["message.posted", "message.edited", "message.redacted", "message.acked", "message.relayed"]);
  const PLANNERS = new Set(["case_manager", "ppa", "admin"]);   // may add and close milestones
  const OVERSEERS = new Set(["case_manager", "admin"]);         // see deliveries and the case log
  const NARROW = window.matchMedia("(max-width: 899px)");

  const STRINGS = JSON.parse(document.getElementById("strings").textContent || "{}");
  const LANG = document.documentElement.lang === "en" ? "en" : "id";
  const dateFormat = new Intl.DateTimeFormat(LANG === "en" ? "en-GB" : "id-ID", { dateStyle: "medium", timeStyle: "short" });

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    me: null,                 // GET /v1/me
    cases: [],
    casesCursor: null,
    caseId: null,
    caseData: null,
    threads: [],              // summaries of the threads the caller may see
    thread: null,             // the thread on screen
    messages: new Map(),      // id -> message, for the thread on screen
    hasOlder: false,
    ticket: 0,                // bumped on every case or thread switch, to drop stale answers
    names: new Map(),         // participant id -> display name
    readers: new Map(),       // thread -> Map(reader id -> up_to_seq)
    readSent: new Map(),      // thread -> highest up_to_seq posted
    lastSeq: new Map(),       // case id -> last log seq seen
    socket: null,
    reconnectTimer: null,
    reconnectAttempts: 0,
    frames: Promise.resolve(), // frames are applied one after another, in seq order
    replyTo: null,
    draftKey: null,           // Idempotency-Key of the draft being sent (kept across a network failure)
    panel: "milestones",
    panelTimer: null,
    statusTimer: null,
  };

  // ---------------------------------------------------------------- small helpers

  const $ = (id) => document.getElementById(id);

  /** The text for `key` in the page's language, with `{name}` placeholders filled in. */
  function t(key, vars = {}) {
    let text = Object.prototype.hasOwnProperty.call(STRINGS, key) ? STRINGS[key] : key;
    for (const [name, value] of Object.entries(vars)) text = text.split("{" + name + "}").join(String(value));
    return text;
  }

  /** Builds an element. Children that are strings become text nodes, so data is never parsed as HTML. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  const badge = (text, cls) => el("span", { class: "badge " + cls }, text);
  const formatTime = (iso) => (Number.isNaN(Date.parse(iso)) ? String(iso) : dateFormat.format(new Date(iso)));
  const timeEl = (iso, cls) => el("time", { datetime: iso, class: cls }, formatTime(iso));
  /** A datetime-local value (the user's local time) as an RFC 3339 UTC string. */
  const toUtc = (localValue) => (localValue ? new Date(localValue).toISOString() : null);
  const fieldValue = (id) => $(id).value.trim();
  const threadLabel = (name) => t("thread_" + name);
  const roleLabel = (role) => t("role_" + role);

  function isHttpUrl(text) {
    try {
      return ["http:", "https:"].includes(new URL(text).protocol);
    } catch {
      return false;
    }
  }

  /** ISO 8601 durations as the API takes them (PT24H, P2D, PT1H30M) in words. */
  function formatDuration(iso) {
    const match = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(iso);
    if (!match) return iso;
    const units = ["unit_weeks", "unit_days", "unit_hours", "unit_minutes", "unit_seconds"];
    return units.map((unit, i) => (match[i + 1] ? t(unit, { n: Number(match[i + 1]) }) : null)).filter(Boolean).join(" ");
  }

  function newIdempotencyKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    // randomUUID exists only in secure contexts; a hospital intranet may serve plain http.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  /** Drops empty members, so optional fields the user left blank are not sent as "". */
  function compact(object) {
    return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== "" && v !== null && !(Array.isArray(v) && v.length === 0)));
  }

  function showError(id, message) {
    $(id).textContent = message || "";
    $(id).hidden = !message;
  }

  /** The status line; confirmations fade after a while, errors stay until the next message. */
  function setStatus(text, isError = false) {
    clearTimeout(state.statusTimer);
    $("status").textContent = text;
    $("status").classList.toggle("is-error", isError);
    if (text && !isError) state.statusTimer = setTimeout(() => setStatus(""), 6000);
  }

  // ---------------------------------------------------------------- HTTP

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** Calls the hub with the bearer token; answers the parsed body, or throws an ApiError with the hub's message. */
  async function api(method, path, body, headers = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (state.token) init.headers.Authorization = "Bearer " + state.token;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError(0, t("error_network"));
    }
    const payload = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.ok) return payload;
    if (response.status === 401) endSession(t("error_unauthorized"));
    throw new ApiError(response.status, payload?.error?.message ?? t("error_http", { status: response.status }));
  }

  /** Shows a failed request in the status line (a 401 has already gone back to sign-in). */
  function report(error) {
    if (error.status === 401) return;
    if (!(error instanceof ApiError)) console.error(error);
    setStatus(error.status === 404 ? t("error_not_found") : error.message, true);
  }

  const casePath = (suffix = "") => "/v1/cases/" + encodeURIComponent(state.caseId) + suffix;
  const threadPath = (thread, suffix) => casePath("/threads/" + encodeURIComponent(thread) + suffix);
  const messagePath = (id, suffix = "") => casePath("/messages/" + encodeURIComponent(id) + suffix);

  // ---------------------------------------------------------------- session

  /** The caller's participant id in the open case (an admin's token id when the hub says it). */
  function myId() {
    return state.me?.memberships?.[state.caseId] ?? state.me?.id ?? null;
  }

  const caseOpen = () => state.caseData?.status === "open";

  async function signIn(token) {
    state.token = token;
    try {
      state.me = await api("GET", "/v1/me");
    } catch (error) {
      if (error.status !== 401) {
        state.token = null;
        showError("sign-in-error", error.message);
      }
      return false;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    showError("sign-in-error", null);
    return true;
  }

  function endSession(message) {
    resetCase();
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.me = null;
    state.cases = [];
    $("app-view").hidden = true;
    $("user-box").hidden = true;
    $("sign-in-view").hidden = false;
    $("token").value = "";
    showError("sign-in-error", message);
    setStatus("");
    $("token").focus();
  }

  async function startApp() {
    $("sign-in-view").hidden = true;
    $("app-view").hidden = false;
    $("user-box").hidden = false;
    $("whoami").textContent = t("signed_in_as", { name: state.me.name, role: roleLabel(state.me.role) });
    await loadCases(true);
    const id = caseIdFromUrl();
    if (id) openCase(id, false);
    else if (state.cases.length === 1 && !state.casesCursor) openCase(state.cases[0].id, true);
    else showCaseArea("none");
  }

  // ---------------------------------------------------------------- case list

  function caseIdFromUrl() {
    const match = /^\/cases\/([^/]+)\/?$/.exec(location.pathname);
    return match ? decodeURIComponent(match[1]) : null;
  }

  async function loadCases(reset) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if ($("case-status").value !== "all") params.set("status", $("case-status").value);
    const search = $("case-search").value.trim();
    if (search) params.set("q", search);
    if (!reset && state.casesCursor) params.set("cursor", state.casesCursor);
    try {
      const page = await api("GET", "/v1/cases?" + params);
      state.cases = reset ? page.cases : state.cases.concat(page.cases);
      state.casesCursor = page.next_cursor;
      renderCaseList();
    } catch (error) {
      report(error);
    }
  }

  /** Asks the hub again once typing pauses: the search runs over every case, not only the loaded page. */
  let searchTimer = null;
  function onCaseSearch() {
    renderCaseList();
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => loadCases(true), 250);
  }

  /** Draws the loaded cases that match the search box (MRN or patient name). */
  function renderCaseList() {
    const query = $("case-search").value.trim().toLowerCase();
    const matches = state.cases.filter((c) => !query || c.mrn.toLowerCase().includes(query) || c.patient.name.toLowerCase().includes(query));
    $("case-list").replaceChildren(...matches.map(caseItem));
    $("case-list-empty").hidden = matches.length > 0;
    $("cases-more").hidden = !state.casesCursor;
  }

  function caseItem(c) {
    return el("li", {},
      el("a", {
        class: "case-link", href: "/cases/" + encodeURIComponent(c.id) + location.search,
        "data-case-id": c.id, "aria-current": c.id === state.caseId ? "page" : null,
      },
      el("span", { class: "case-name" }, c.patient.name),
      el("span", { class: "case-meta" }, t("case_mrn_short", { mrn: c.mrn }), c.payer ? " · " + c.payer.name : ""),
      c.status === "closed" ? badge(t("case_status_closed"), "badge-muted") : null));
  }

  // ---------------------------------------------------------------- case view

  function showCaseArea(which) {
    $("case-view").hidden = which !== "case";
    $("not-found").hidden = which !== "not-found";
    $("no-case").hidden = which !== "none";
  }

  function resetCase() {
    closeStream();
    clearTimeout(state.panelTimer);
    state.ticket += 1;
    Object.assign(state, { caseId: null, caseData: null, threads: [], thread: null, replyTo: null, hasOlder: false });
    for (const map of [state.messages, state.readers, state.readSent, state.names]) map.clear();
    $("messages").replaceChildren();
    $("thread-tabs").replaceChildren();
    document.title = t("page_title");
  }

  async function openCase(id, push) {
    if (push) history.pushState(null, "", "/cases/" + encodeURIComponent(id) + location.search);
    resetCase();
    state.caseId = id;
    const ticket = state.ticket;
    renderCaseList();
    setStatus(t("loading"));
    let kase, threads;
    try {
      [kase, threads] = await Promise.all([api("GET", casePath()), api("GET", casePath("/threads"))]);
    } catch (error) {
      if (ticket !== state.ticket) return;
      if (error.status === 404) showCaseArea("not-found");
      report(error);
      return;
    }
    if (ticket !== state.ticket) return;
    setStatus("");
    state.caseData = kase;
    state.threads = threads.threads;
    noteSeq(Math.max(0, ...state.threads.map((th) => th.last_message?.seq ?? 0)));
    renderCaseHeader();
    renderTabs();
    buildAudienceChoices();
    configurePanels();
    showCaseArea("case");
    if (NARROW.matches) $("cases-pane").open = false;
    loadNames();
    connectStream();
    showPanel(state.panel);
    await selectThread(state.threads[0]?.name);
  }

  function renderCaseHeader() {
    const c = state.caseData;
    $("case-patient").textContent = c.patient.name;
    $("case-mrn").textContent = c.mrn;
    $("case-payer").textContent = c.payer
      ? c.payer.name + (c.payer.member_id ? " (" + c.payer.member_id + ")" : "")
      : t("payer_none");
    $("case-status-badge").textContent = t("case_status_" + c.status);
    $("case-status-badge").className = "badge case-" + c.status;
    document.title = t("page_title_case", { name: c.patient.name });
  }

  async function refreshCase() {
    try {
      state.caseData = await api("GET", casePath());
      renderCaseHeader();
      configureComposer();
      configurePanels();
      loadPanel(state.panel);
      for (const id of state.messages.keys()) rerender(id);
    } catch (error) {
      report(error);
    }
  }

  /** Names for "seen by" lines: the participants list where the role may read it, message authors otherwise. */
  async function loadNames() {
    if (!OVERSEERS.has(state.me.role)) return;
    const caseId = state.caseId;
    try {
      const { participants } = await api("GET", casePath("/participants"));
      if (caseId === state.caseId) participants.forEach(rememberName);
    } catch (error) {
      if (error.status !== 403) report(error);
    }
  }

  function rememberName(person) {
    if (person?.id && person.name) state.names.set(person.id, person.name);
  }

  // ---------------------------------------------------------------- thread tabs

  function renderTabs() {
    const tabs = state.threads.map((th) => el("button", {
      type: "button", role: "tab", id: "tab-" + th.name, class: "thread-tab",
      "data-thread": th.name, "aria-controls": "thread-panel", "aria-selected": "false", tabindex: "-1",
    }, el("span", { class: "tab-label" }, threadLabel(th.name)), el("span", { class: "unread", hidden: true })));
    $("thread-tabs").replaceChildren(...tabs);
    updateTabs();
  }

  /** Updates selection and unread badges in place, so keyboard focus stays on its tab. */
  function updateTabs() {
    for (const th of state.threads) {
      const tab = $("tab-" + th.name);
      if (!tab) continue;
      const selected = th.name === state.thread;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const unread = tab.querySelector(".unread");
      unread.hidden = !(th.unread > 0);
      unread.replaceChildren(String(th.unread), el("span", { class: "visually-hidden" }, " " + t("unread_suffix")));
    }
  }

  function bumpUnread(thread) {
    const summary = state.threads.find((th) => th.name === thread);
    if (!summary) return;
    summary.unread += 1;
    updateTabs();
  }

  /** Arrow keys, Home and End move between tabs (the ARIA tabs pattern, automatic activation). */
  function onTabKey(event) {
    const tabs = [...$("thread-tabs").querySelectorAll('[role="tab"]')];
    const index = tabs.indexOf(document.activeElement);
    const target = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (index < 0 || target === undefined) return;
    event.preventDefault();
    const tab = tabs[(target + tabs.length) % tabs.length];
    tab.focus();
    selectThread(tab.dataset.thread);
  }

  async function selectThread(name) {
    if (!name) return;
    state.ticket += 1;
    const ticket = state.ticket;
    state.thread = name;
    state.messages.clear();
    state.hasOlder = false;
    $("messages").replaceChildren();
    $("load-older").hidden = true;
    $("messages-empty").hidden = true;
    $("thread-panel").setAttribute("aria-labelledby", "tab-" + name);
    cancelReply();
    updateTabs();
    configureComposer();
    renderSeenBy();
    const params = new URLSearchParams({ before: String(lastSeq() + 1), limit: String(PAGE_SIZE) });
    try {
      const page = await api("GET", threadPath(name, "/messages?" + params));
      if (ticket !== state.ticket) return;
      page.messages.forEach((m) => upsertMessage(m));
      state.hasOlder = page.has_more;
      $("load-older").hidden = !page.has_more;
      $("messages-empty").hidden = state.messages.size > 0;
      scrollToEnd();
      await loadReadMarkers(name);
      if (ticket !== state.ticket) return;
      renderSeenBy();
      markRead();
    } catch (error) {
      if (ticket === state.ticket) report(error);
    }
  }

  /** Who has read the thread how far, as stored; live `read_marker` frames move it on. */
  async function loadReadMarkers(thread) {
    const { read_markers: markers } = await api("GET", threadPath(thread, "/read-markers"));
    if (!state.readers.has(thread)) state.readers.set(thread, new Map());
    const readers = state.readers.get(thread);
    for (const marker of markers) {
      readers.set(marker.reader_id, Math.max(readers.get(marker.reader_id) ?? 0, marker.up_to_seq));
      rememberName({ id: marker.reader_id, name: marker.name });
    }
  }

  // ---------------------------------------------------------------- messages

  const messageList = () => $("messages");
  const oldestLoadedSeq = () => Number(messageList().firstElementChild?.dataset.seq ?? Infinity);
  const newestLoadedSeq = () => Number(messageList().lastElementChild?.dataset.seq ?? 0);

  function isNearEnd() {
    const list = messageList();
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToEnd() {
    messageList().scrollTop = messageList().scrollHeight;
  }

  async function loadOlder() {
    const list = messageList();
    const fromBottom = list.scrollHeight - list.scrollTop;
    const ticket = state.ticket;
    const params = new URLSearchParams({ before: String(oldestLoadedSeq()), limit: String(PAGE_SIZE) });
    try {
      const page = await api("GET", threadPath(state.thread, "/messages?" + params));
      if (ticket !== state.ticket) return;
      page.messages.forEach((m) => upsertMessage(m, true));
      state.hasOlder = page.has_more;
      $("load-older").hidden = !page.has_more;
      list.scrollTop = list.scrollHeight - fromBottom; // keep the reader's place
    } catch (error) {
      report(error);
    }
  }

  /** Inserts a message in seq order, or redraws it in place. `force` admits messages older than the loaded window. */
  function upsertMessage(m, force = false) {
    if (m.thread !== state.thread) return;
    rememberName(m.author);
    const known = state.messages.get(m.id);
    if (!known && !force && state.hasOlder && m.seq < oldestLoadedSeq()) return;
    // The stream echoes our own changes: an unchanged message keeps its element (and the focus in it).
    if (known && JSON.stringify(known) === JSON.stringify(m)) return;
    state.messages.set(m.id, m);
    const old = messageList().querySelector(`li[data-message-id="${CSS.escape(m.id)}"]`);
    if (old) {
      // An open edit or relay form keeps the message as it was; closing it redraws from state.messages.
      if (!old.querySelector("form")) old.replaceWith(renderMessage(m));
    } else {
      const next = [...messageList().children].find((li) => Number(li.dataset.seq) > m.seq);
      messageList().insertBefore(renderMessage(m), next ?? null);
    }
    $("messages-empty").hidden = true;
    if (m.kind === "authorization_request") refreshDecisionChoices();
  }

  function rerender(id) {
    const m = state.messages.get(id);
    const old = messageList().querySelector(`li[data-message-id="${CSS.escape(id)}"]`);
    if (m && old) old.replaceWith(renderMessage(m));
  }

  function renderMessage(m) {
    const mine = m.author.id === myId();
    const classes = ["message", mine && "mine", m.priority === "urgent" && "urgent", m.redacted && "redacted", m.author.role === "system" && "system"];
    return el("li", { class: classes.filter(Boolean).join(" "), "data-message-id": m.id, "data-seq": m.seq },
      messageHeader(m),
      m.relayed_from ? relayMarker(m) : null,
      m.reply_to ? replyQuote(m.reply_to) : null,
      m.redacted
        ? el("div", { class: "message-body withdrawn" }, t("message_withdrawn"))
        : el("div", { class: "message-body" }, m.body),
      m.redacted ? null : messageData(m),
      ackLine(m),
      m.redacted || !caseOpen() ? null : messageActions(m, mine));
  }

  function messageHeader(m) {
    return el("div", { class: "message-meta" },
      el("span", { class: "message-author" }, m.author.name),
      el("span", { class: "message-role" }, roleLabel(m.author.role)),
      timeEl(m.created_at, "message-time"),
      m.kind !== "text" ? badge(t("kind_" + m.kind), "badge-kind kind-" + m.kind) : null,
      m.priority === "urgent" ? badge(t("priority_urgent"), "badge-urgent") : null,
      m.edited_at && !m.redacted
        ? el("span", { class: "edited-marker", title: formatTime(m.edited_at) }, t("edited"))
        : null);
  }

  function relayMarker(m) {
    return el("p", { class: "relayed-marker" }, t("relayed_marker"),
      m.relay_note ? el("span", { class: "relay-note" }, " " + t("relay_note_shown", { note: m.relay_note })) : null);
  }

  function snippet(m) {
    if (m.redacted) return t("message_withdrawn");
    const text = m.body || t("kind_" + m.kind);
    return text.length > 140 ? text.slice(0, 140) + "…" : text;
  }

  function replyQuote(id) {
    const target = state.messages.get(id);
    return el("blockquote", { class: "reply-quote" },
      target ? el("span", { class: "quote-author" }, t("reply_quote_author", { name: target.author.name })) : null,
      target ? snippet(target) : t("reply_to_earlier"));
  }

  /** A definition list of [label key, value] pairs; empty values are left out. */
  function fieldList(pairs) {
    const list = el("dl", { class: "fields" });
    for (const [key, value] of pairs) {
      if (value === null || value === undefined || value === "") continue;
      list.append(el("dt", {}, t(key)), el("dd", {}, value instanceof Node ? value : String(value)));
    }
    return list;
  }

  function messageData(m) {
    const d = m.data ?? {};
    switch (m.kind) {
      case "handoff": return handoffBlock(d);
      case "education": return educationBlock(d);
      case "authorization_request": return authorizationRequestBlock(d, m.authorization);
      case "authorization_decision": return decisionBlock(m);
      case "milestone": return milestoneNoticeBlock(d);
      default: return null;
    }
  }

  function handoffBlock(d) {
    const actions = Array.isArray(d.action_list) ? d.action_list : d.action_list ? [d.action_list] : [];
    return el("div", { class: "structured sbar" },
      el("div", { class: "sbar-head" },
        el("strong", {}, t("handoff_sbar")),
        d.illness_severity
          ? badge(t("severity_shown", { severity: t("severity_" + d.illness_severity) }), "severity-" + d.illness_severity)
          : null),
      fieldList([
        ["sbar_situation", d.situation], ["sbar_background", d.background],
        ["sbar_assessment", d.assessment], ["sbar_recommendation", d.recommendation],
        ["handoff_action_list", actions.length ? el("ul", {}, actions.map((a) => el("li", {}, String(a)))) : null],
        ["handoff_contingency", d.contingency],
      ]));
  }

  function educationBlock(d) {
    const url = d.material_url;
    const link = url && isHttpUrl(url) ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, url) : url;
    return el("div", { class: "structured education" }, fieldList([
      ["education_topic", d.topic],
      ["education_material", link],
      ["education_audience", Array.isArray(d.audience) ? d.audience.join(", ") : d.audience],
    ]));
  }

  function authorizationRequestBlock(d, authorization) {
    const status = authorization
      ? el("span", {},
        badge(t("auth_status_" + authorization.status), "auth-" + authorization.status),
        authorization.escalated_at ? badge(t("auth_escalated"), "badge-urgent") : null)
      : null;
    return el("div", { class: "structured auth-request" }, fieldList([
      ["authreq_service", d.service],
      ["authreq_reason", d.reason],
      ["authreq_urgency", d.urgency ? t("urgency_" + d.urgency) : null],
      ["authreq_due", d.due_at ? formatTime(d.due_at) : null],
      ["authorization_status", status],
    ]));
  }

  /** The request a decision answers: by id, or (for copies in another thread) by the decision it records. */
  function decidedRequest(m) {
    const decisionIds = [m.id, m.relayed_from].filter(Boolean);
    return state.messages.get(m.data.request_id) ??
      [...state.messages.values()].find((x) => decisionIds.includes(x.authorization?.decision_id));
  }

  function decisionBlock(m) {
    const d = m.data;
    return el("div", { class: "structured auth-decision" }, fieldList([
      ["decision_label", d.decision ? badge(t("decision_" + d.decision), "auth-" + d.decision) : null],
      ["decision_request", decidedRequest(m)?.data?.service ?? el("code", {}, d.request_id)],
      ["decision_note", d.note],
    ]));
  }

  function milestoneNoticeBlock(d) {
    return el("div", { class: "structured milestone-notice" }, fieldList([
      ["milestone_event", d.event ? t("milestone_event_" + d.event) : null],
      ["milestone_kind", d.milestone_kind ? t("milestone_kind_" + d.milestone_kind) : null],
      ["milestone_due", d.due_at ? formatTime(d.due_at) : null],
    ]));
  }

  function ackLine(m) {
    if (m.acks.length === 0 && !m.requires_ack) return null;
    return el("p", { class: "message-acks" + (m.acks.length ? "" : " pending") },
      m.acks.length ? t("acked_by", { n: m.acks.length }) : t("awaiting_ack"));
  }

  function messageActions(m, mine) {
    const role = state.me.role;
    const ackedByMe = m.acks.some((a) => a.by === myId());
    return el("div", { class: "message-actions" },
      m.requires_ack && !mine && !ackedByMe ? actionButton("ack", t("ack"), m) : null,
      actionButton("reply", t("reply"), m),
      mine && m.author.role !== "system" ? actionButton("edit", t("edit"), m) : null,
      mine || role === "case_manager" ? actionButton("redact", t("redact"), m) : null,
      role === "case_manager" && relayTargets(m).length ? actionButton("relay", t("relay"), m) : null);
  }

  function actionButton(action, label, m) {
    return el("button", {
      type: "button", class: action, "data-action": action,
      "aria-label": t("action_on_message", { action: label, name: m.author.name, time: formatTime(m.created_at) }),
    }, label);
  }

  const relayTargets = (m) => state.threads.map((th) => th.name).filter((name) => name !== m.thread);

  // ---------------------------------------------------------------- message actions

  function onMessageClick(event) {
    const button = event.target.closest("button[data-action]");
    const li = button?.closest("li.message");
    const m = li && state.messages.get(li.dataset.messageId);
    if (!m) return;
    const handlers = { ack: ackMessage, reply: startReply, edit: startEdit, redact: redactMessage, relay: startRelay, "close-form": closeForm };
    handlers[button.dataset.action]?.(m, li);
  }

  function onMessageSubmit(event) {
    event.preventDefault();
    const form = event.target;
    const m = state.messages.get(form.closest("li.message")?.dataset.messageId);
    if (!m) return;
    if (form.classList.contains("edit-form")) saveEdit(m, form);
    else if (form.classList.contains("relay-form")) sendRelay(m, form);
  }

  function onMessageKey(event) {
    if (event.key !== "Escape") return;
    const li = event.target.closest("form")?.closest("li.message");
    const m = li && state.messages.get(li.dataset.messageId);
    if (m) closeForm(m);
  }

  /** Closes an edit or relay form: redraws the message from its latest state, focus back on it. */
  function closeForm(m) {
    rerender(m.id);
    messageList().querySelector(`li[data-message-id="${CSS.escape(m.id)}"] .message-actions button`)?.focus();
  }

  /** Runs a request answering a Message and shows the answer in place. */
  async function changeMessage(request) {
    try {
      const m = await request;
      state.messages.set(m.id, m);
      rerender(m.id);
      return m;
    } catch (error) {
      report(error);
      return null;
    }
  }

  const ackMessage = (m) => changeMessage(api("POST", messagePath(m.id, "/ack")));
  const redactMessage = (m) => window.confirm(t("confirm_redact")) && changeMessage(api("DELETE", messagePath(m.id)));

  function startReply(m) {
    state.replyTo = m;
    $("composer-reply-text").textContent = t("replying_to", { name: m.author.name, text: snippet(m) });
    $("composer-reply").hidden = false;
    $("composer-body").focus();
  }

  function cancelReply() {
    state.replyTo = null;
    $("composer-reply").hidden = true;
  }

  function formButtons(saveLabel) {
    return el("div", { class: "form-actions" },
      el("button", { type: "submit", class: "button-primary" }, saveLabel),
      el("button", { type: "button", class: "button-quiet", "data-action": "close-form" }, t("cancel")));
  }

  function startEdit(m, li) {
    const area = el("textarea", { id: "edit-" + m.id, class: "edit-body", rows: 3, required: true });
    area.value = m.body;
    const form = el("form", { class: "edit-form inline-form" },
      el("label", { for: area.id }, t("edit_label")), area, formButtons(t("save")));
    li.querySelector(".message-body").replaceWith(form);
    li.querySelector(".message-actions")?.remove();
    area.focus();
  }

  async function saveEdit(m, form) {
    const body = form.querySelector("textarea").value;
    const saved = await changeMessage(api("PATCH", messagePath(m.id), { body }));
    if (saved) setStatus(t("message_saved"));
  }

  function startRelay(m, li) {
    const select = el("select", { id: "relay-to-" + m.id, class: "relay-to" },
      relayTargets(m).map((name) => el("option", { value: name }, threadLabel(name))));
    const note = el("input", { id: "relay-note-" + m.id, class: "relay-note", type: "text", maxlength: 4096 });
    const form = el("form", { class: "relay-form inline-form" },
      el("label", { for: select.id }, t("relay_to")), select,
      el("label", { for: note.id }, t("relay_note_label")), note,
      formButtons(t("relay_send")));
    li.querySelector(".message-actions").replaceWith(form);
    select.focus();
  }

  async function sendRelay(m, form) {
    const to = form.querySelector(".relay-to").value;
    const note = form.querySelector(".relay-note").value.trim();
    try {
      await api("POST", messagePath(m.id, "/relay"), compact({ to, note }));
      closeForm(m);
      setStatus(t("relayed_to", { thread: threadLabel(to) }));
    } catch (error) {
      report(error);
    }
  }

  // ---------------------------------------------------------------- composer

  /** Structured kinds the caller may sensibly send in this thread (the hub checks again). */
  function allowedKinds(role, thread) {
    const clinical = PLANNERS.has(role);
    const kinds = ["text"];
    if (clinical && thread === "ppa") kinds.push("handoff");
    if (clinical && (thread === "patient" || thread === "family")) kinds.push("education");
    if (clinical && (thread === "ppa" || thread === "payer")) kinds.push("authorization_request");
    if (["payer", "case_manager", "admin"].includes(role) && thread === "payer") kinds.push("authorization_decision");
    return kinds;
  }

  function configureComposer() {
    const kinds = allowedKinds(state.me.role, state.thread);
    for (const option of $("composer-kind").options) {
      option.hidden = !kinds.includes(option.value);
      option.disabled = option.hidden;
    }
    if (!kinds.includes($("composer-kind").value)) $("composer-kind").value = "text";
    $("composer-kind-field").hidden = kinds.length === 1;
    $("composer").hidden = !caseOpen();
    $("composer-closed").hidden = caseOpen();
    showKindFields();
  }

  /** Shows the fields of the chosen kind; the others are disabled so the browser does not validate them. */
  function showKindFields() {
    const kind = $("composer-kind").value;
    for (const fieldset of $("composer").querySelectorAll(".kind-fields")) {
      const active = fieldset.dataset.kind === kind;
      fieldset.hidden = !active;
      fieldset.disabled = !active;
    }
    $("composer-body").required = kind === "text";
    $("composer-body-label").textContent = kind === "text" ? t("message_label") : t("summary_label");
  }

  function kindData(kind) {
    switch (kind) {
      case "handoff": return compact({
        situation: fieldValue("handoff-situation"),
        background: fieldValue("handoff-background"),
        assessment: fieldValue("handoff-assessment"),
        recommendation: fieldValue("handoff-recommendation"),
        illness_severity: fieldValue("handoff-severity"),
        action_list: fieldValue("handoff-actions").split("\n").map((line) => line.trim()).filter(Boolean),
        contingency: fieldValue("handoff-contingency"),
      });
      case "education": return compact({ topic: fieldValue("education-topic"), material_url: fieldValue("education-url") });
      case "authorization_request": return compact({
        service: fieldValue("authreq-service"),
        reason: fieldValue("authreq-reason"),
        urgency: fieldValue("authreq-urgency"),
        due_at: toUtc(fieldValue("authreq-due")),
      });
      case "authorization_decision": return compact({
        request_id: fieldValue("decision-request-id"),
        decision: fieldValue("decision-value"),
        note: fieldValue("decision-note"),
      });
      default: return null;
    }
  }

  function composePayload() {
    const kind = $("composer-kind").value;
    const payload = { kind, priority: $("composer-priority").value, requires_ack: $("composer-requires-ack").checked };
    const body = $("composer-body").value;
    if (kind === "text" || body.trim()) payload.body = body;
    if (state.replyTo) payload.reply_to = state.replyTo.id;
    const data = kindData(kind);
    if (data) payload.data = data;
    return payload;
  }

  async function sendMessage(event) {
    event.preventDefault();
    const thread = state.thread;
    state.draftKey ??= newIdempotencyKey();
    showError("composer-error", null);
    $("composer-send").disabled = true;
    try {
      const m = await api("POST", threadPath(thread, "/messages"), composePayload(), { "Idempotency-Key": state.draftKey });
      state.draftKey = null;
      $("composer").reset();
      cancelReply();
      configureComposer();
      upsertMessage(m);
      scrollToEnd();
      markRead();
    } catch (error) {
      // A refused draft stored nothing, so its key may go; after a network failure the same key
      // lets a resend answer the message that may already exist instead of posting it twice.
      if (error.status >= 400 && error.status < 500) state.draftKey = null;
      if (error.status !== 401) showError("composer-error", error.message);
    } finally {
      $("composer-send").disabled = false;
    }
  }

  function onComposerKey(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  }

  /** Offers the loaded authorization requests of this thread as choices for a decision. */
  function refreshDecisionChoices() {
    const requests = [...state.messages.values()].filter((m) => m.kind === "authorization_request" && !m.redacted);
    $("decision-requests").replaceChildren(...requests.map((m) => el("option", { value: m.id },
      t("decision_choice", { service: m.data.service, status: t("auth_status_" + (m.authorization?.status ?? "requested")) }))));
  }

  // ---------------------------------------------------------------- read markers

  async function markRead() {
    const thread = state.thread;
    const upTo = newestLoadedSeq();
    if (!thread || document.visibilityState !== "visible" || upTo <= (state.readSent.get(thread) ?? 0)) return;
    state.readSent.set(thread, upTo);
    const summary = state.threads.find((th) => th.name === thread);
    if (summary) summary.unread = 0;
    updateTabs();
    try {
      await api("POST", threadPath(thread, "/read"), { up_to_seq: upTo });
    } catch (error) {
      report(error);
    }
  }

  function noteReadMarker(frame) {
    const readerId = frame.reader_id ?? frame.data?.reader_id ?? frame.data?.reader;
    const upTo = frame.up_to_seq ?? frame.data?.up_to_seq;
    if (!frame.thread || !readerId || typeof upTo !== "number") return;
    if (!state.readers.has(frame.thread)) state.readers.set(frame.thread, new Map());
    state.readers.get(frame.thread).set(readerId, upTo);
    if (frame.thread === state.thread) renderSeenBy();
  }

  /** "Seen by": who else has read up to the newest message on screen. */
  function renderSeenBy() {
    const newest = newestLoadedSeq();
    const readers = [...(state.readers.get(state.thread) ?? new Map())]
      .filter(([id, upTo]) => id !== myId() && newest > 0 && upTo >= newest)
      .map(([id]) => state.names.get(id) ?? t("someone"));
    $("seen-by").hidden = readers.length === 0;
    $("seen-by").textContent = readers.length ? t("seen_by", { names: readers.join(", ") }) : "";
  }

  // ---------------------------------------------------------------- live stream

  const lastSeq = () => state.lastSeq.get(state.caseId) ?? 0;

  function noteSeq(seq) {
    if (typeof seq === "number" && seq > lastSeq()) state.lastSeq.set(state.caseId, seq);
  }

  function setLive(live) {
    $("live-state").dataset.state = live ? "live" : "offline";
    $("live-state").textContent = live ? t("live_on") : t("live_reconnecting");
  }

  function connectStream() {
    const caseId = state.caseId;
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      "/v1/cases/" + encodeURIComponent(caseId) + "/stream?after=" + lastSeq();
    let socket;
    try {
      // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol.
      socket = new WebSocket(url, ["casehub.v1", "casehub.bearer." + state.token]);
    } catch (error) {
      setStatus(t("error_live"), true);
      return;
    }
    state.socket = socket;
    socket.onopen = () => {
      state.reconnectAttempts = 0;
      setLive(true);
    };
    socket.onmessage = (event) => {
      if (state.socket !== socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      noteSeq(frame.seq);
      state.frames = state.frames.then(() => applyFrame(caseId, frame)).catch(report);
    };
    socket.onclose = (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      setLive(false);
      // 4003: the caller's access to this case ended (removed from it, or its token replaced).
      if (event.code === 4003) return accessEnded();
      scheduleReconnect(event.code);
    };
  }

  /** No reconnecting after 4003: a token that no longer works ends the session (the 401 of
   *  /v1/me does); one that still reaches other cases is told this case is out of reach. */
  async function accessEnded() {
    $("live-state").textContent = t("live_offline");
    await api("GET", "/v1/me").catch(() => null);
    if (state.token) setStatus(t("error_access_ended"), true);
  }

  function closeStream() {
    clearTimeout(state.reconnectTimer);
    const socket = state.socket;
    state.socket = null;
    socket?.close(1000);
  }

  /** Reconnects with exponential backoff from the last seq seen; 4008 (reader too slow) at once. */
  function scheduleReconnect(code) {
    const caseId = state.caseId;
    const base = code === 4008 ? 250 : Math.min(30000, 1000 * 2 ** state.reconnectAttempts);
    if (code !== 4008) state.reconnectAttempts += 1;
    state.reconnectTimer = setTimeout(async () => {
      if (caseId !== state.caseId || !state.token) return;
      // After repeated failures, ask whether the token still works (a 401 ends the session).
      if (state.reconnectAttempts > 2) await api("GET", "/v1/me").catch(() => null);
      if (caseId === state.caseId && state.token && !state.socket) connectStream();
    }, base * (0.8 + Math.random() * 0.4));
  }

  async function applyFrame(caseId, frame) {
    if (caseId !== state.caseId || typeof frame.type !== "string") return;
    rememberName(frame.actor);
    if (frame.type === "read_marker") return noteReadMarker(frame);
    if (MESSAGE_EVENTS.has(frame.type)) await applyMessageEvent(frame);
    else if (frame.type === "authorization.decided") await refreshAuthorization(frame.data?.request_id);
    else if (frame.type === "case.closed") await refreshCase();
    if (frame.type.startsWith("milestone.")) refreshPanelSoon("milestones");
    if (frame.type.startsWith("delivery.") || frame.type === "notification.queued") refreshPanelSoon("deliveries");
    refreshPanelSoon("log");
  }

  async function applyMessageEvent(frame) {
    const id = frame.data?.message_id;
    if (!id) return;
    if (frame.thread !== state.thread) {
      if (frame.type === "message.posted" && frame.actor?.id !== myId()) bumpUnread(frame.thread);
      return;
    }
    const m = await fetchMessage(id);
    if (!m || m.thread !== state.thread) return;
    const follow = isNearEnd();
    upsertMessage(m);
    if (follow) scrollToEnd();
    renderSeenBy();
    markRead();
  }

  async function fetchMessage(id) {
    try {
      return await api("GET", messagePath(id));
    } catch (error) {
      if (error.status !== 404) report(error);
      return null;
    }
  }

  /** A decision changes the request and its relayed copies: refetch the ones on screen. */
  async function refreshAuthorization(requestId) {
    const shown = [...state.messages.values()].filter((m) => m.id === requestId || m.relayed_from === requestId);
    for (const m of shown) {
      const fresh = await fetchMessage(m.id);
      if (fresh) upsertMessage(fresh);
    }
  }

  // ---------------------------------------------------------------- side panels

  function configurePanels() {
    const overseer = OVERSEERS.has(state.me.role);
    for (const button of document.querySelectorAll("[data-panel]")) {
      button.hidden = button.dataset.panel !== "milestones" && !overseer;
    }
    if (!overseer) state.panel = "milestones";
    $("milestone-form").hidden = !PLANNERS.has(state.me.role) || !caseOpen();
  }

  function showPanel(name) {
    state.panel = name;
    for (const button of document.querySelectorAll("[data-panel]")) {
      button.setAttribute("aria-pressed", String(button.dataset.panel === name));
    }
    for (const panel of ["milestones", "deliveries", "log"]) $("panel-" + panel).hidden = panel !== name;
    loadPanel(name);
  }

  function loadPanel(name) {
    ({ milestones: loadMilestones, deliveries: loadDeliveries, log: loadLog })[name]();
  }

  /** Live entries arrive in bursts (a post, its notifications, its deliveries): refresh once after them. */
  function refreshPanelSoon(name) {
    if (state.panel !== name) return;
    clearTimeout(state.panelTimer);
    state.panelTimer = setTimeout(() => loadPanel(name), 800);
  }

  /** Runs a panel's loader and drops its answer if the case changed meanwhile. */
  async function panelRequest(requests, render) {
    const caseId = state.caseId;
    try {
      const answers = await Promise.all(requests);
      if (caseId === state.caseId) render(...answers);
    } catch (error) {
      report(error);
    }
  }

  // -- milestones

  function loadMilestones() {
    return panelRequest([api("GET", casePath("/milestones"))], ({ milestones }) => {
      $("milestone-list").replaceChildren(...milestones.map(milestoneItem));
      $("milestones-empty").hidden = milestones.length > 0;
    });
  }

  function milestoneItem(ms) {
    const open = !["done", "cancelled"].includes(ms.status);
    const canChange = open && PLANNERS.has(state.me.role) && caseOpen();
    const reminders = ms.reminders.length ? " · " + t("milestone_reminders_shown", { list: ms.reminders.map(formatDuration).join(", ") }) : "";
    return el("li", { class: "milestone status-" + ms.status, "data-milestone-id": ms.id },
      el("div", { class: "milestone-head" },
        timeEl(ms.due_at, "milestone-when"),
        badge(t("milestone_status_" + ms.status), "ms-" + ms.status)),
      el("p", { class: "milestone-title" }, ms.title),
      el("p", { class: "milestone-meta" },
        t("milestone_kind_" + ms.kind), " · ", ms.audience.map(threadLabel).join(", "), reminders),
      canChange
        ? el("div", { class: "milestone-actions" },
          el("button", { type: "button", class: "milestone-done", "data-status": "done" }, t("milestone_done")),
          el("button", { type: "button", class: "milestone-cancel button-quiet", "data-status": "cancelled" }, t("milestone_cancel")))
        : null);
  }

  async function changeMilestone(event) {
    const button = event.target.closest("button[data-status]");
    const id = button?.closest("li.milestone")?.dataset.milestoneId;
    if (!id) return;
    if (button.dataset.status === "cancelled" && !window.confirm(t("confirm_cancel_milestone"))) return;
    try {
      await api("PATCH", casePath("/milestones/" + encodeURIComponent(id)), { status: button.dataset.status });
      loadMilestones();
    } catch (error) {
      report(error);
    }
  }

  /** Audience checkboxes: the threads the caller may see (the only ones it may address). */
  function buildAudienceChoices() {
    const boxes = state.threads.map((th, i) => {
      const input = el("input", { type: "checkbox", id: "audience-" + th.name, name: "audience", value: th.name });
      input.defaultChecked = th.name === "ppa" || (i === 0 && !state.threads.some((x) => x.name === "ppa"));
      input.checked = input.defaultChecked;
      return el("div", { class: "field-check" }, input, el("label", { for: input.id }, threadLabel(th.name)));
    });
    const fieldset = $("milestone-audience");
    fieldset.replaceChildren(fieldset.querySelector("legend"), ...boxes);
  }

  async function addMilestone(event) {
    event.preventDefault();
    const audience = [...$("milestone-audience").querySelectorAll("input:checked")].map((input) => input.value);
    if (audience.length === 0) return showError("milestone-error", t("audience_required"));
    const body = {
      title: fieldValue("milestone-title"),
      kind: $("milestone-kind").value,
      due_at: toUtc(fieldValue("milestone-due")),
      audience,
      reminders: fieldValue("milestone-reminders").split(/[\s,]+/).filter(Boolean),
    };
    showError("milestone-error", null);
    try {
      await api("POST", casePath("/milestones"), body);
      $("milestone-form").reset();
      setStatus(t("milestone_added"));
      loadMilestones();
    } catch (error) {
      if (error.status !== 401) showError("milestone-error", error.message);
    }
  }

  // -- deliveries

  function loadDeliveries() {
    const params = new URLSearchParams({ case: state.caseId, limit: "50" });
    return panelRequest([api("GET", "/v1/deliveries?" + params)], ({ deliveries }) => {
      $("deliveries-body").replaceChildren(...deliveries.map(deliveryRow));
      $("deliveries-empty").hidden = deliveries.length > 0;
    });
  }

  function deliveryRow(d) {
    const last = d.attempts[d.attempts.length - 1];
    const lastResult = last ? [last.code, last.error].filter((x) => x !== null && x !== undefined).join(" ") : "";
    const retryable = d.status === "failed" || d.status === "dead";
    return el("tr", { "data-delivery-id": d.id },
      el("td", {}, t("channel_" + d.channel)),
      el("td", { class: "target" }, d.target),
      el("td", {}, el("code", {}, d.event_type)),
      el("td", {}, badge(t("delivery_status_" + d.status), "delivery-" + d.status)),
      el("td", { class: "num" }, String(d.attempts.length)),
      el("td", {}, lastResult || t("empty_value"), d.waiting ? el("div", { class: "waiting" }, d.waiting) : null),
      el("td", {}, d.next_attempt_at ? timeEl(d.next_attempt_at) : t("empty_value")),
      el("td", {}, retryable
        ? el("button", { type: "button", class: "retry", "data-delivery-id": d.id, "aria-label": t("retry_delivery", { target: d.target }) }, t("retry"))
        : null));
  }

  async function retryDelivery(event) {
    const id = event.target.closest("button.retry")?.dataset.deliveryId;
    if (!id) return;
    try {
      await api("POST", "/v1/deliveries/" + encodeURIComponent(id) + "/retry");
      setStatus(t("delivery_requeued"));
      loadDeliveries();
    } catch (error) {
      report(error);
    }
  }

  // -- case log

  function loadLog() {
    return panelRequest(
      [api("GET", casePath("/log/verify")), api("GET", casePath("/log?limit=1000"))],
      (verify, page) => {
        $("log-verify").className = "log-verify " + (verify.ok ? "verify-ok" : "verify-bad");
        $("log-verify").textContent = verify.ok
          ? t("log_verify_ok", { n: verify.entries })
          : t("log_verify_bad", { seq: verify.first_bad_seq });
        $("log-tree").replaceChildren(logTree(page.entries));
        $("log-more").hidden = !page.has_more;
      });
  }

  /** Nests entries under their parent_seq; an entry whose parent is not shown starts a new root. */
  function logTree(entries) {
    const shown = new Set(entries.map((e) => e.seq));
    const children = new Map();
    const roots = [];
    for (const entry of entries) {
      if (entry.parent_seq !== null && shown.has(entry.parent_seq)) {
        if (!children.has(entry.parent_seq)) children.set(entry.parent_seq, []);
        children.get(entry.parent_seq).push(entry);
      } else {
        roots.push(entry);
      }
    }
    const branch = (list) => el("ul", { class: "log-tree" }, list.map((entry) =>
      el("li", { class: "log-entry", "data-seq": entry.seq },
        logLine(entry),
        children.has(entry.seq) ? branch(children.get(entry.seq)) : null)));
    return branch(roots);
  }

  function logLine(entry) {
    return el("div", { class: "log-line" },
      el("span", { class: "log-seq" }, t("log_seq", { seq: entry.seq })),
      el("code", { class: "log-type" }, entry.type),
      entry.thread ? el("span", { class: "log-thread" }, threadLabel(entry.thread)) : null,
      el("span", { class: "log-actor" }, entry.actor?.name ?? ""),
      timeEl(entry.at, "log-time"));
  }

  // ---------------------------------------------------------------- wiring

  function onCaseLinkClick(event) {
    const link = event.target.closest("a.case-link");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    openCase(link.dataset.caseId, true);
  }

  function onPopState() {
    if (!state.me) return;
    const id = caseIdFromUrl();
    if (id) return openCase(id, false);
    resetCase();
    renderCaseList();
    showCaseArea("none");
  }

  function wire() {
    $("sign-in-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (token && (await signIn(token))) startApp();
    });
    $("sign-out").addEventListener("click", () => endSession(null));
    $("case-filter").addEventListener("submit", (event) => event.preventDefault());
    $("case-search").addEventListener("input", onCaseSearch);
    $("case-status").addEventListener("change", () => loadCases(true));
    $("cases-more").addEventListener("click", () => loadCases(false));
    $("case-list").addEventListener("click", onCaseLinkClick);
    $("thread-tabs").addEventListener("click", (event) => {
      const tab = event.target.closest('[role="tab"]');
      if (tab && tab.dataset.thread !== state.thread) selectThread(tab.dataset.thread);
    });
    $("thread-tabs").addEventListener("keydown", onTabKey);
    $("load-older").addEventListener("click", loadOlder);
    $("messages").addEventListener("click", onMessageClick);
    $("messages").addEventListener("submit", onMessageSubmit);
    $("messages").addEventListener("keydown", onMessageKey);
    $("composer").addEventListener("submit", sendMessage);
    $("composer").addEventListener("keydown", onComposerKey);
    $("composer-kind").addEventListener("change", showKindFields);
    $("composer-reply-cancel").addEventListener("click", () => {
      cancelReply();
      $("composer-body").focus();
    });
    for (const button of document.querySelectorAll("[data-panel]")) {
      button.addEventListener("click", () => showPanel(button.dataset.panel));
    }
    $("milestone-list").addEventListener("click", changeMilestone);
    $("milestone-form").addEventListener("submit", addMilestone);
    $("deliveries-refresh").addEventListener("click", loadDeliveries);
    $("deliveries-body").addEventListener("click", retryDelivery);
    $("log-refresh").addEventListener("click", loadLog);
    document.addEventListener("visibilitychange", markRead);
    window.addEventListener("popstate", onPopState);
  }

  async function init() {
    wire();
    $("lang-" + LANG)?.setAttribute("aria-current", "true");
    if (state.token && (await signIn(state.token))) startApp();
    else $("token").focus();
  }

  init();
})();
