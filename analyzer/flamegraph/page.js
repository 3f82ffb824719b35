/* page.js - the memtap flamegraph page: reads the model embedded by
 * `memtap flamegraph` (analyzer/fg_model.h explains it), draws the memory
 * timeline and the flamegraph on canvases, and handles views, zoom, search,
 * tooltips, the thread filter and range selection. A run of several
 * processes has a model per process (memtap-data-N; the first holds the
 * list of processes and the tree's RSS): ?p=N in the page's address picks
 * the one shown, and the process selector sets it. A page compared with a
 * base run (`--base`) also holds that run's model (memtap-base): its stacks
 * are matched to this run's by frame names, each frame is drawn as wide as
 * the larger of its two values and coloured by its change.
 *
 * Safety: names, paths and labels from the trace only ever reach the page
 * as canvas text or through textContent, never as markup. */
'use strict';
(function () {
  const D0 = JSON.parse(document.getElementById('memtap-data').textContent);
  const shown = Number(new URLSearchParams(location.search).get('p')) || 0;
  const more = shown > 0 && document.getElementById('memtap-data-' + shown);
  const D = more ? JSON.parse(more.textContent) : D0;
  const baseEl = document.getElementById('memtap-base');
  const A = baseEl ? JSON.parse(baseEl.textContent) : null; /* the base run */
  /* The frames of both runs: this run's, then those of the base run's
   * names this one lacks. In the tree, the base run's stacks join this
   * run's by frame name (merged boxes, "[N small frames]", whatever N). */
  const FR = D.frames.slice();
  const byName = new Map();
  FR.forEach((f, i) => { if (!byName.has(f[0])) byName.set(f[0], i); });
  const frameA = A ? A.frames.map((f) => {
    let i = byName.get(f[0]);
    if (i === undefined) { i = FR.length; FR.push(f); byName.set(f[0], i); }
    return i;
  }) : null;
  const joinName = (f) => {
    const n = FR[f] ? FR[f][0] : '';
    return /^\[\d+ small frames\]$/.test(n) ? '[small frames]' : n;
  };
  /* the tree's RSS in this process's time: [t, rss] */
  const TREE = (D0.tree || []).map(([t, v]) => [t - (D.startS || 0), v]);
  /* the processes of highest RSS peak, each one's RSS at TREE's times, to
   * stack under it (the others together: the rest up to TREE's line) */
  const STACK = D0.treeStack && D0.treeStack.rss.length === TREE.length ? D0.treeStack : null;
  const STACK_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948',
    '#b07aa1', '#9c755f'];
  let stacked = []; /* the areas drawn, for tests */
  const $ = (id) => document.getElementById(id);
  const NODES = D.parent.length;
  const G = D.groups, T = D.totals, P = D.points;
  const ROW = 17;
  const KIND = { start: 0, sample: 1, peak: 2, exit: 3, marker: 4, chosen: 5 };

  const state = {
    view: D.view, from: D.from, to: D.to, thread: -1, hide: D.hide,
    icicle: false, search: '', zoom: 0, rangePoint: -1, rangeT: null, against: !!A,
  };
  /* Compared with the base run: in the views both runs have. */
  const comparing = () => !!A && state.against && ['peak', 'leaks', 'total'].includes(state.view);

  function human(b) {
    const neg = b < 0; let v = Math.abs(b); const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0;
    while (v >= 1024 && i < 4) { v /= 1024; i++; }
    return (neg ? '-' : '') + (i ? v.toFixed(1) : String(v)) + ' ' + u[i];
  }
  function pointName(i) {
    const p = P[i];
    const t = p[1].toFixed(3) + ' s';
    switch (p[3]) {
      case KIND.start: return 'start';
      case KIND.peak: return 'heap peak (' + t + ')';
      case KIND.exit: return 'exit (' + t + ')';
      case KIND.marker: return 'marker ' + p[4] + ' (' + t + ')';
      default: return t;
    }
  }

  /* ---- values per trie node for the current view ---------------------- */
  function liveAt(p, v, c, sign, M = D, thread = state.thread) {
    const g = M.groups;
    for (let k = 0; k < g.length; k += 6) {
      if (thread >= 0 && g[k + 1] !== thread) continue;
      if (g[k + 2] <= p && p <= g[k + 3]) { v[g[k]] += sign * g[k + 4]; c[g[k]] += sign * g[k + 5]; }
    }
  }
  function totalsOf(v, c, M = D, thread = state.thread) {
    const t = M.totals;
    for (let k = 0; k < t.length; k += 4) {
      if (thread >= 0 && t[k + 1] !== thread) continue;
      v[t[k]] += t[k + 2]; c[t[k]] += t[k + 3];
    }
  }
  /* The base run's values per node of its trie, in the view (every thread). */
  function baseValues() {
    const n = A.parent.length, v = new Float64Array(n), c = new Float64Array(n);
    if (state.view === 'total') totalsOf(v, c, A, -1);
    else liveAt(state.view === 'leaks' ? A.exitPoint : A.peakPoint, v, c, 1, A, -1);
    return [v, c];
  }
  function viewValues() {
    const v = new Float64Array(NODES), c = new Float64Array(NODES);
    const th = comparing() ? -1 : state.thread; /* the runs' threads do not match */
    if (state.view === 'total') {
      totalsOf(v, c, D, th);
    } else if (state.view === 'diff') {
      liveAt(state.to, v, c, 1);
      liveAt(state.from, v, c, -1);
      let shrank = 0;
      for (let i = 0; i < NODES; i++) {
        if (v[i] < 0) { shrank -= v[i]; v[i] = 0; c[i] = 0; }
        if (c[i] < 0) c[i] = 0;
      }
      state.shrank = shrank;
    } else {
      const p = state.view === 'leaks' ? D.exitPoint
        : state.view === 'range' ? state.rangePoint : D.peakPoint;
      liveAt(p, v, c, 1, D, th);
    }
    return [v, c];
  }

  /* ---- the displayed tree: the trie (and the base run's, matched into it
   * by frame names), with hidden frames merged away. Node ids grow from
   * parent to child, so one backward pass sums children into parents. ---- */
  let tree = null;
  function buildTree(hide) {
    const parent = [0], frame = [-1], keys = new Map();
    /* frameOf: the base run's frames in FR (this run's are FR's own) */
    function merge(M, frameOf) {
      const eff = new Int32Array(M.parent.length);
      for (let i = 1; i < M.parent.length; i++) {
        const p = eff[M.parent[i]], f = frameOf ? frameOf[M.frame[i]] : M.frame[i];
        if (FR[f] && (FR[f][1] & hide)) { eff[i] = p; continue; }
        const key = A ? p + '\u0000' + joinName(f) : p * 4194304 + f;
        let id = keys.get(key);
        if (id === undefined) { id = parent.length; parent.push(p); frame.push(f); keys.set(key, id); }
        eff[i] = id;
      }
      return eff;
    }
    const eff = merge(D, null), effA = A ? merge(A, frameA) : null;
    const n = parent.length, kids = Array.from({ length: n }, () => []);
    for (let i = 1; i < n; i++) kids[parent[i]].push(i);
    tree = { eff, effA, parent, frame, kids, n };
  }
  function nodeName(i) {
    if (i === 0) return 'all';
    const f = FR[tree.frame[i]];
    return f ? f[0] : '?';
  }
  function isNative(i) { const f = FR[tree.frame[i]]; return !!(f && (f[1] & 1)); }

  /* Per displayed node: this run's bytes and blocks; compared, the base
   * run's too; size, what its width shows: its bytes, or compared, the
   * larger of its own two values summed with its children's sizes. */
  let total = null, count = null, base = null, baseCount = null, size = null;
  function aggregate() {
    const [v, c] = viewValues();
    total = new Float64Array(tree.n); count = new Float64Array(tree.n);
    for (let i = 0; i < NODES; i++) { total[tree.eff[i]] += v[i]; count[tree.eff[i]] += c[i]; }
    const cmp = comparing();
    base = cmp ? new Float64Array(tree.n) : null;
    baseCount = cmp ? new Float64Array(tree.n) : null;
    size = cmp ? new Float64Array(tree.n) : total;
    if (cmp) {
      const [va, ca] = baseValues();
      for (let i = 0; i < va.length; i++) { base[tree.effA[i]] += va[i]; baseCount[tree.effA[i]] += ca[i]; }
      for (let i = 0; i < tree.n; i++) size[i] = Math.max(total[i], base[i]);
    }
    for (let i = tree.n - 1; i > 0; i--) {
      const p = tree.parent[i];
      total[p] += total[i]; count[p] += count[i];
      if (cmp) { base[p] += base[i]; baseCount[p] += baseCount[i]; size[p] += size[i]; }
    }
    maxChange = 1;
    for (let i = 1; cmp && i < tree.n; i++) maxChange = Math.max(maxChange, Math.abs(total[i] - base[i]));
  }
  /* Compared: grew, shrank or same; the colour says which, its depth how
   * large the change is beside the largest one (small ones fade to grey). */
  function change(node) {
    const d = total[node] - base[node];
    return d > 0 ? 'grew' : d < 0 ? 'shrank' : 'same';
  }
  let maxChange = 1; /* the largest change of any frame but the root */
  function changeColor(node) {
    const d = total[node] - base[node], r = Math.min(1, Math.abs(d) / maxChange);
    const sl = (10 + 70 * r) + '%,' + (86 - 36 * r) + '%)';
    return d > 0 ? 'hsl(0,' + sl : d < 0 ? 'hsl(215,' + sl : 'hsl(0,0%,84%)';
  }

  /* ---- search ------------------------------------------------------------ */
  let matched = null;
  function runSearch() {
    const q = state.search.toLowerCase();
    matched = new Uint8Array(tree.n);
    let bytes = 0;
    if (q) {
      const under = new Uint8Array(tree.n);
      for (let i = 1; i < tree.n; i++) {
        if (nodeName(i).toLowerCase().includes(q)) matched[i] = 1;
        under[i] = under[tree.parent[i]] || matched[tree.parent[i]];
        if (matched[i] && !under[i]) bytes += total[i];
      }
    }
    const m = $('matched');
    m.dataset.bytes = String(bytes);
    m.dataset.frames = String(matched.reduce((a, b) => a + b, 0));
    m.textContent = q ? 'matched ' + human(bytes) + ' (' +
      (total[0] ? (100 * bytes / total[0]).toFixed(1) : '0.0') + '% of this view)' : '';
  }

  /* ---- flamegraph drawing ---------------------------------------------- */
  const graph = $('graph');
  let rects = [];
  function hue(name, native) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    const r = Math.abs(h % 1000) / 1000;
    return native ? 'hsl(' + (200 + 30 * r) + ',35%,' + (62 + 12 * r) + '%)'
      : 'hsl(' + (18 + 32 * r) + ',85%,' + (58 + 10 * r) + '%)';
  }
  function draw() {
    const width = graph.clientWidth || 800, dpr = window.devicePixelRatio || 1;
    const chain = [];
    for (let i = state.zoom; i !== 0; i = tree.parent[i]) chain.unshift(i);
    chain.unshift(0);
    const rows = [];
    const scale = size[state.zoom] || 1;
    function lay(node, x, depth) {
      const w = size[node] / scale * width;
      if (w < 0.5) return;
      rows.push([node, x, w, depth]);
      const kids = tree.kids[node].filter((k) => size[k] > 0).sort((a, b) => size[b] - size[a]);
      let cx = x;
      for (const k of kids) { lay(k, cx, depth + 1); cx += size[k] / scale * width; }
    }
    chain.slice(0, -1).forEach((n, d) => rows.push([n, 0, width, d]));
    if (size[state.zoom] > 0) lay(state.zoom, 0, chain.length - 1);
    let maxDepth = 0;
    for (const r of rows) maxDepth = Math.max(maxDepth, r[3]);
    const height = (maxDepth + 1) * ROW + 4;
    graph.width = width * dpr; graph.height = height * dpr; graph.style.height = height + 'px';
    const g = graph.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = '11px monospace'; g.textBaseline = 'middle';
    rects = [];
    const cmp = comparing();
    for (const [node, x, w, depth] of rows) {
      const y = state.icicle ? depth * ROW : height - (depth + 1) * ROW;
      const name = node === 0 ? 'all (' + human(total[0]) + ')' : nodeName(node);
      g.fillStyle = matched[node] ? '#e040e0' : cmp ? changeColor(node)
        : node === 0 ? '#ccc' : hue(name, isNative(node));
      g.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
      if (w > 30) {
        g.fillStyle = '#000';
        g.save(); g.beginPath(); g.rect(x, y, w - 2, ROW); g.clip();
        g.fillText(name, x + 3, y + ROW / 2);
        g.restore();
      }
      rects.push({ node, name, x, y, w, h: ROW - 1, bytes: total[node], count: count[node],
        base: cmp ? base[node] : null, baseCount: cmp ? baseCount[node] : null,
        change: cmp ? change(node) : null });
    }
  }
  function hit(ev) {
    const b = graph.getBoundingClientRect(), x = ev.clientX - b.left, y = ev.clientY - b.top;
    for (let i = rects.length - 1; i >= 0; i--) {
      const r = rects[i];
      if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h) return r;
    }
    return null;
  }
  graph.addEventListener('click', (ev) => {
    const r = hit(ev);
    if (!r) return;
    state.zoom = r.node === state.zoom ? tree.parent[r.node] : r.node;
    if (r.node === 0) state.zoom = 0;
    draw();
  });
  const tip = $('tooltip');
  graph.addEventListener('mousemove', (ev) => {
    const r = hit(ev);
    if (!r) { tip.hidden = true; return; }
    const share = total[0] ? (100 * r.bytes / total[0]).toFixed(2) : '0';
    if (r.base !== null) {
      const d = r.bytes - r.base;
      tip.textContent = r.name + '\nthis run: ' + human(r.bytes) + ' (' + r.bytes + ' bytes) in ' +
        r.count + ' blocks\nthe base run: ' + human(r.base) + ' (' + r.base + ' bytes) in ' +
        r.baseCount + ' blocks\nchange: ' + (d > 0 ? '+' : '') + human(d) +
        (r.base ? ' (' + (d > 0 ? '+' : '') + (100 * d / r.base).toFixed(1) + '%)' : '') +
        '\n' + viewTitle();
    } else {
      tip.textContent = r.name + '\n' + human(r.bytes) + ' (' + r.bytes + ' bytes) in ' +
        r.count + ' blocks\n' + share + '% of ' + viewTitle();
    }
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 320) + 'px';
    tip.style.top = (ev.clientY + 14) + 'px';
  });
  graph.addEventListener('mouseleave', () => { tip.hidden = true; });

  /* ---- timeline ------------------------------------------------------------ */
  const tl = $('timeline');
  const heap = new Float64Array(P.length);
  (function () {
    const d = new Float64Array(P.length + 1);
    for (let k = 0; k < G.length; k += 6) { d[G[k + 2]] += G[k + 4]; d[G[k + 3] + 1] -= G[k + 4]; }
    let s = 0;
    for (let i = 0; i < P.length; i++) { s += d[i]; heap[i] = s; }
  })();
  const tMax = Math.max(D.durationS, P.length ? P[P.length - 1][1] : 0, 1e-9);
  let drag = null;
  let labels = []; /* the labels drawn on the timeline, for tests */
  function drawTimeline() {
    const width = tl.clientWidth || 800, height = 120, dpr = window.devicePixelRatio || 1;
    tl.width = width * dpr; tl.height = height * dpr;
    const g = tl.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    let yMax = 1;
    for (let i = 0; i < P.length; i++) yMax = Math.max(yMax, heap[i], P[i][2]);
    for (const [, v] of TREE) yMax = Math.max(yMax, v);
    const X = (t) => 4 + (width - 8) * t / tMax, Y = (v) => height - 14 - (height - 30) * v / yMax;
    if (state.rangeT) {
      g.fillStyle = 'rgba(31,111,178,0.12)';
      g.fillRect(X(state.rangeT[0]), 0, X(state.rangeT[1]) - X(state.rangeT[0]), height);
    }
    function line(get, color, kinds) {
      g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
      let first = true;
      for (let i = 0; i < P.length; i++) {
        if (kinds && !kinds(P[i])) continue;
        const x = X(P[i][1]), y = Y(get(i));
        if (first) g.moveTo(x, y); else g.lineTo(x, y);
        first = false;
      }
      g.stroke();
    }
    line((i) => P[i][2], '#e07b00', (p) => p[3] === KIND.sample);
    /* RSS's anonymous part (heap, stacks: what the heap can explain); the
     * rest of RSS is file-backed and shared memory. Traces before format 6
     * do not have it (-1). */
    g.setLineDash([4, 3]);
    line((i) => P[i][5], '#b8860b', (p) => p[3] === KIND.sample && p[5] >= 0);
    g.setLineDash([]);
    stacked = [];
    if (STACK && TREE.length) { /* each process's RSS stacked, the first at the bottom */
      const k = STACK.procs.length, base = new Float64Array(TREE.length);
      for (let j = 0; j <= k; j++) {
        /* j === k: the other processes, up to the tree's line */
        const top = TREE.map(([, v], i) => (j < k ? base[i] + STACK.rss[i][j] : Math.max(v, base[i])));
        g.fillStyle = j < k ? STACK_COLORS[j % STACK_COLORS.length] : '#bbb';
        g.globalAlpha = 0.3;
        g.beginPath();
        let started = false, peak = 0;
        for (let i = 0; i < TREE.length; i++) {
          const t = Math.min(Math.max(TREE[i][0], 0), tMax);
          if (!started) g.moveTo(X(t), Y(top[i])); else g.lineTo(X(t), Y(top[i]));
          started = true;
          peak = Math.max(peak, top[i] - base[i]);
        }
        for (let i = TREE.length - 1; i >= 0; i--)
          g.lineTo(X(Math.min(Math.max(TREE[i][0], 0), tMax)), Y(base[i]));
        g.closePath(); g.fill(); g.globalAlpha = 1;
        stacked.push({ pid: j < k ? STACK.procs[j][0] : null, peak });
        for (let i = 0; i < TREE.length; i++) base[i] = top[i];
      }
    }
    if (TREE.length) { /* the run's processes together, dotted */
      g.setLineDash([1, 3]); g.strokeStyle = '#e07b00'; g.lineWidth = 1.5; g.beginPath();
      let first = true;
      for (const [t, v] of TREE) {
        if (t < 0 || t > tMax) continue;
        if (first) g.moveTo(X(t), Y(v)); else g.lineTo(X(t), Y(v));
        first = false;
      }
      g.stroke(); g.setLineDash([]);
    }
    line((i) => heap[i], '#1f6fb2', null);
    /* y axis: a few values, faint lines across */
    g.font = '10px sans-serif'; g.textBaseline = 'middle';
    for (const f of [0.25, 0.5, 0.75, 1]) {
      g.strokeStyle = '#eee'; g.lineWidth = 1;
      g.beginPath(); g.moveTo(4, Y(f * yMax)); g.lineTo(width - 4, Y(f * yMax)); g.stroke();
      g.fillStyle = '#777'; g.fillText(human(f * yMax), 6, Y(f * yMax));
    }
    /* Labels of markers and of the peak: each on the first row where it
     * does not overlap one already drawn, and kept inside the canvas at the
     * right edge. A label with no free row among four is left out (its line
     * stays; its name is in the tooltip and the point lists). */
    g.textBaseline = 'top';
    const rows = [[], [], [], []];
    labels = [];
    for (let i = 0; i < P.length; i++) {
      const p = P[i];
      if (p[3] !== KIND.marker && p[3] !== KIND.peak) continue;
      const x = X(p[1]);
      g.strokeStyle = p[3] === KIND.peak ? '#c00' : '#6a3d9a'; g.lineWidth = 1.5;
      g.beginPath(); g.moveTo(x, 0); g.lineTo(x, height - 12); g.stroke();
      const text = p[3] === KIND.peak ? 'peak ' + human(heap[i]) : String(p[4]);
      const w = g.measureText(text).width;
      const left = Math.max(0, Math.min(x + 2, width - w - 2));
      const row = rows.findIndex((r) => r.every(([a, b]) => left > b + 4 || left + w < a - 4));
      if (row < 0) continue;
      rows[row].push([left, left + w]);
      labels.push({ text, x: left, y: 2 + row * 11, w, h: 11, width });
      g.fillStyle = g.strokeStyle;
      g.fillText(text, left, 2 + row * 11);
    }
    g.fillStyle = '#555'; g.textBaseline = 'bottom';
    g.fillText('0 s', 4, height); g.fillText(tMax.toFixed(3) + ' s', width - 60, height);
  }
  function timeAt(ev) {
    const b = tl.getBoundingClientRect();
    return Math.max(0, Math.min(tMax, (ev.clientX - b.left - 4) / (b.width - 8) * tMax));
  }
  tl.addEventListener('mousedown', (ev) => { drag = timeAt(ev); });
  tl.addEventListener('mousemove', (ev) => {
    if (drag === null) return;
    const t = timeAt(ev);
    state.rangeT = [Math.min(drag, t), Math.max(drag, t)];
    drawTimeline();
  });
  window.addEventListener('mouseup', (ev) => {
    if (drag === null) return;
    const t = timeAt(ev);
    const lo = Math.min(drag, t), hi = Math.max(drag, t);
    drag = null;
    selectRange(lo, hi);
  });
  function selectRange(lo, hi) {
    let best = -1;
    for (let i = 0; i < P.length; i++)
      if (P[i][1] >= lo && P[i][1] <= hi && (best < 0 || heap[i] > heap[best])) best = i;
    if (best < 0) { /* nothing inside: the nearest point */
      let d = Infinity;
      for (let i = 0; i < P.length; i++) {
        const x = Math.abs(P[i][1] - (lo + hi) / 2);
        if (x < d) { d = x; best = i; }
      }
    }
    if (best < 0) return;
    state.rangeT = [lo, hi];
    state.rangePoint = best;
    state.view = 'range';
    $('view').value = 'range';
    refresh();
  }

  /* ---- controls ---------------------------------------------------------- */
  function viewTitle() {
    if (comparing()) {
      return (state.view === 'leaks' ? 'unfreed at exit' : state.view === 'total'
        ? 'allocated in total' : 'live at each run\'s heap peak') + ', against the base run';
    }
    switch (state.view) {
      case 'leaks': return 'unfreed at exit';
      case 'total': return 'allocated in total';
      case 'diff': return 'grown from ' + pointName(state.from) + ' to ' + pointName(state.to);
      case 'range': return 'live at ' + P[state.rangePoint][1].toFixed(3) +
        ' s, the high-water mark of ' + state.rangeT[0].toFixed(3) + '\u2013' +
        state.rangeT[1].toFixed(3) + ' s';
      default: return 'live at the heap peak (' + P[D.peakPoint][1].toFixed(3) + ' s)';
    }
  }
  function refresh() {
    aggregate();
    if (state.zoom >= tree.n || !(size[state.zoom] > 0)) state.zoom = 0;
    runSearch();
    $('title').textContent = viewTitle();
    const t = $('total');
    t.dataset.bytes = String(total[0]);
    t.dataset.base = comparing() ? String(base[0]) : '';
    t.textContent = (D.sampleRate ? 'about ' : '') + human(total[0]) + ' (' + total[0] +
      ' bytes in ' + count[0] + (D.sampleRate ? ' recorded' : '') + ' blocks)' +
      (state.view === 'diff' && state.shrank ? '; other stacks shrank by ' + human(state.shrank) : '') +
      (comparing() ? '; the base run ' + human(base[0]) + ' (' + base[0] + ' bytes in ' +
        baseCount[0] + ' blocks), change ' + (total[0] >= base[0] ? '+' : '') +
        human(total[0] - base[0]) : '');
    $('diff-points').hidden = state.view !== 'diff';
    $('thread').disabled = comparing();
    draw();
    drawTimeline();
  }
  $('command').textContent = D.command;
  if (A) {
    $('base').hidden = false;
    $('base').textContent = 'against the base run: ' + A.command + ' (pid ' + A.pid +
      '); red: grew, blue: shrank (the deeper, the larger the change), grey: unchanged; a frame is' +
      ' as wide as the larger of its two values';
    $('against-box').hidden = false;
    $('against').checked = state.against;
    $('against').addEventListener('change', () => { state.against = $('against').checked; refresh(); });
  }
  $('sampled').hidden = !D.sampleRate;
  $('sampled').textContent = D.sampleRate ? 'sampled by bytes, about one allocation recorded per ' +
    human(D.sampleRate) + ': byte figures are estimates' : '';
  if (D0.processes && D0.processes.length > 1) {
    const sel = $('process');
    for (const [part, pid, depth, cmd, peak] of D0.processes) {
      const o = document.createElement('option');
      o.value = String(part);
      o.textContent = '\u00a0'.repeat(2 * Math.min(depth, 8)) + pid + ': ' + cmd.slice(0, 60) +
        ' (peak ' + human(peak) + ')' + (part < 0 ? ': memtap flamegraph --pid ' + pid : '');
      o.disabled = part < 0;
      sel.appendChild(o);
    }
    sel.value = String(more ? shown : 0);
    sel.addEventListener('change', () => { location.search = '?p=' + sel.value; });
    $('process-box').hidden = false;
    $('tree-legend').hidden = false;
    if (STACK) {
      const box = $('tree-stack-legend');
      STACK.procs.forEach(([pid, command], j) => {
        const item = document.createElement('span');
        item.className = 'stack-item';
        const sw = document.createElement('i');
        sw.style.background = STACK_COLORS[j % STACK_COLORS.length];
        item.appendChild(sw);
        item.appendChild(document.createTextNode(pid + ' ' + String(command || '').slice(0, 40)));
        box.appendChild(item);
      });
      const rest = document.createElement('span');
      rest.className = 'stack-item';
      const sw = document.createElement('i');
      sw.style.background = '#bbb';
      rest.appendChild(sw);
      rest.appendChild(document.createTextNode('the other processes'));
      box.appendChild(rest);
      box.hidden = false;
    }
  }
  if (D.merged && D.merged[0] > 0)
    $('merged').textContent = '(' + D.merged[0] + ' frames too small to see, each under ' +
      human(D.merged[3]) + ', merged into "[N small frames]" boxes: ' + human(D.merged[1]) +
      ' allocated, ' + human(D.merged[2]) + ' at the peak)';
  for (const id of ['from', 'to']) {
    const sel = $(id);
    for (let i = 0; i < P.length; i++) {
      if (P[i][3] === KIND.sample) continue;
      const o = document.createElement('option');
      o.value = String(i); o.textContent = pointName(i);
      sel.appendChild(o);
    }
    sel.value = String(id === 'from' ? state.from : state.to);
    sel.addEventListener('change', () => { state[id] = Number(sel.value); refresh(); });
  }
  for (const th of D.threads) {
    const o = document.createElement('option');
    o.value = String(th[0]);
    o.textContent = 'thread ' + th[0] + ' (tid ' + th[1] + (th[2] ? ', ' + th[2] : '') + ')';
    $('thread').appendChild(o);
  }
  $('thread').addEventListener('change', () => { state.thread = Number($('thread').value); refresh(); });
  $('view').value = state.view;
  $('view').addEventListener('change', () => {
    state.view = $('view').value;
    if (state.view === 'range' && state.rangePoint < 0) selectRange(0, tMax); else refresh();
  });
  /* The frame classes the switches hide (bits of a frame's class, as the
   * analyzer's MT_FG_*): native, import machinery, the interpreter's own. */
  [['hide-native', 1], ['hide-imports', 2], ['hide-interpreter', 4]].forEach(([id, bit]) => {
    $(id).checked = !!(state.hide & bit);
    $(id).addEventListener('change', () => {
      state.hide = $(id).checked ? state.hide | bit : state.hide & ~bit; state.zoom = 0;
      buildTree(state.hide); refresh();
    });
  });
  $('icicle').addEventListener('change', () => { state.icicle = $('icicle').checked; draw(); });
  $('search').addEventListener('input', () => { state.search = $('search').value; runSearch(); draw(); });
  $('reset').addEventListener('click', () => { state.zoom = 0; draw(); });
  window.addEventListener('resize', () => { draw(); drawTimeline(); });

  buildTree(state.hide);
  refresh();

  /* For tests and the curious: what is on screen, in CSS pixels. */
  window.memtapPage = {
    state,
    rects: () => rects.map((r) => ({ name: r.name, x: r.x, y: r.y, w: r.w, h: r.h, bytes: r.bytes,
      base: r.base, change: r.change })),
    zoomName: () => (state.zoom ? nodeName(state.zoom) : 'all'),
    total: () => total[0],
    labels: () => labels,
    stacked: () => stacked,
    pid: () => D.pid,
  };
})();
