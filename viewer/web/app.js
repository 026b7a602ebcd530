// The page: one process's view (summary, timeline, flame graph, stack
// tables, heap map), or for a directory of traces a table of processes,
// each row opening that process's view.
//
// Data: JSON script elements (type application/json) written by `heapgap view`:
// heapgap-report-N (the JSON report, docs/REPORT_JSON.md) and heapgap-view-N
// (call tree, timeline, heap maps, docs/VIEWER.md) for each process N, and
// heapgap-index for a directory.
(function () {
  'use strict';
  const HG = (window.HG = window.HG || {});
  const el = HG.el;

  const LEAK_CLASSES = [
    ['definitely_lost', 'definitely lost'],
    ['indirectly_lost', 'indirectly lost'],
    ['possibly_lost', 'possibly lost'],
    ['still_reachable', 'still reachable'],
  ];
  // Shown under the classes when they hold anything.
  const OTHER_LEAK_COUNTS = [
    ['unchecked', 'unchecked'],
    ['suppressed', 'suppressed'],
  ];

  function hasLeakClasses(report) {
    return LEAK_CLASSES.some(([k]) => report.leaks && report.leaks[k] && typeof report.leaks[k].bytes === 'number');
  }

  // One line that says how the process did, and how bad that is.
  function verdict(report) {
    const leaks = report.leaks || {};
    const parts = [];
    let level = 'ok';
    if (hasLeakClasses(report)) {
      const lost = (leaks.definitely_lost?.bytes || 0) + (leaks.indirectly_lost?.bytes || 0);
      if (lost > 0) {
        parts.push(HG.human(lost) + ' lost');
        level = 'bad';
      }
      if (leaks.possibly_lost?.bytes > 0) {
        parts.push(HG.human(leaks.possibly_lost.bytes) + ' possibly lost');
        if (level === 'ok') level = 'warn';
      }
      if (!parts.length) parts.push(leaks.bytes > 0 ? 'no leaks (' + HG.human(leaks.bytes) + ' still reachable)' : 'no leaks');
    } else if (leaks.bytes > 0) {
      parts.push(HG.human(leaks.bytes) + ' in ' + HG.count(leaks.blocks, 'block') + ' not freed');
      level = 'bad';
    } else {
      parts.push('no leaks');
    }
    // Free heap that live blocks keep from going back to the system.
    const pinned = report.heap?.pinned_bytes;
    if (pinned >= 128 * 1024) {
      parts.push(HG.human(pinned) + ' of free heap pinned');
      if (level === 'ok') level = 'warn';
    }
    if (Array.isArray(report.errors) && report.errors.length) {
      const n = report.errors.reduce((sum, e) => sum + (e.count || 1), 0);
      parts.push(HG.count(n, 'bad release'));
      level = 'bad';
    }
    const end = report.process?.end;
    if (end && end !== 'exit') {
      parts.push('ended by ' + end);
      if (level === 'ok') level = 'warn';
    }
    return { text: parts.join('; '), level };
  }

  function card(figure, label, value, sub, bad, extra) {
    return el(
      'div',
      { class: 'card' + (bad ? ' bad' : ''), dataset: { figure } },
      el('div', { class: 'label' }, label),
      el('div', { class: 'value', dataset: { testid: 'figure-' + figure } }, value),
      sub ? el('div', { class: 'sub' }, sub) : null,
      extra || null
    );
  }

  function maxOf(values) {
    let m = null;
    for (const v of values || []) if (v !== null && (m === null || v > m)) m = v;
    return m;
  }

  function summaryCards(report, view) {
    const cards = [];
    const leaks = report.leaks || {};
    const classes = hasLeakClasses(report)
      ? el(
          'div',
          { class: 'classes', 'data-testid': 'leak-classes' },
          LEAK_CLASSES.filter(([k]) => leaks[k])
            .concat(OTHER_LEAK_COUNTS.filter(([k]) => leaks[k] && leaks[k].bytes > 0))
            .map(([k, label]) =>
            el('div', null, el('span', null, label), el('span', null, HG.human(leaks[k].bytes) + ' / ' + HG.num(leaks[k].blocks)))
          )
        )
      : null;
    const lostBytes = hasLeakClasses(report) ? (leaks.definitely_lost?.bytes || 0) + (leaks.indirectly_lost?.bytes || 0) : leaks.bytes;
    cards.push(card('leaked', 'in use at exit', HG.num(leaks.bytes) + ' B', HG.human(leaks.bytes) + ' in ' + HG.count(leaks.blocks, 'block') + ' from ' + HG.count(leaks.stacks, 'stack'), lostBytes > 0, classes));
    const peak = report.peak || {};
    cards.push(card('peak', 'peak live heap', HG.num(peak.live_bytes) + ' B', HG.human(peak.live_bytes) + ' in ' + HG.count(peak.blocks, 'block') + ' at ' + HG.duration(peak.time_ns)));
    const series = view.timeline?.series || {};
    if (typeof peak.footprint_bytes === 'number') {
      cards.push(card('footprint', 'peak footprint', HG.num(peak.footprint_bytes) + ' B', HG.human(peak.footprint_bytes) + ' of heap mapped'));
    } else if (series.heap_extent) {
      const m = maxOf(series.heap_extent.max);
      cards.push(card('footprint', 'largest main heap extent', HG.num(m) + ' B', HG.human(m) + ' between the heap start and the break'));
    }
    const rss = typeof peak.rss_hwm_bytes === 'number' ? peak.rss_hwm_bytes : view.samples > 0 ? view.rss_hwm_bytes : null;
    cards.push(card('rss', 'peak RSS', rss === null ? 'not sampled' : HG.num(rss) + ' B', rss === null ? 'the trace has no samples' : HG.human(rss) + ' resident at most'));
    const heap = report.heap;
    if (heap && typeof heap.hole_bytes === 'number') {
      // The main heap's and every thread arena's.
      const holes = typeof heap.total_hole_bytes === 'number' ? heap.total_hole_bytes : heap.hole_bytes;
      const arenas = Array.isArray(heap.arenas) ? heap.arenas : [];
      const pinned = typeof heap.pinned_bytes === 'number' ? arenas.reduce((sum, a) => sum + (a.pinned_bytes || 0), heap.pinned_bytes) : null;
      cards.push(card('holes', 'holes at the end', HG.num(holes) + ' B', HG.human(holes) + (pinned !== null ? '; pinned ' + HG.human(pinned) : ''), pinned > 0));
    } else {
      const end = (view.heap_maps || []).find((m) => m.name === 'end');
      const main = end?.regions.find((r) => r.kind === 'main');
      if (main) cards.push(card('holes', 'free below the break at the end', HG.num(main.hole_bytes) + ' B', HG.human(main.hole_bytes) + ' between live chunks of the main heap', false));
    }
    const t = report.totals || {};
    cards.push(card('allocations', 'allocations', HG.num(t.allocations), HG.num(t.frees) + ' frees, ' + HG.human(t.bytes_allocated) + ' allocated, ' + HG.num(t.temporary_allocations) + ' temporary'));
    const p = report.process || {};
    cards.push(card('run', 'traced for', HG.duration(p.duration_ns), 'ended by ' + (p.end || '?') + (p.exit_status !== null && p.exit_status !== undefined ? ' (status ' + p.exit_status + ')' : '')));
    return el('div', { class: 'cards', 'data-testid': 'cards' }, cards);
  }

  // Pinned bytes per stack from the report's heap analysis: what freeing each
  // pinner would give back beyond its own chunk, on the node of its stack.
  function pinnedMeasure(report, view) {
    if (!Array.isArray(report.heap?.pinners) || !Array.isArray(view.tree.stack_id)) return null;
    const pinners = HG.allPinners(report.heap);
    const ids = view.tree.stack_id;
    const nodeOf = new Map(ids.map((id, i) => [id, view.tree.stack_node[i]]));
    const values = new Array(view.tree.parent.length).fill(0);
    for (const p of pinners) {
      const extra = (p.bytes_released_if_freed || 0) - (p.chunk_bytes || 0);
      const node = nodeOf.get(p.stack_id);
      if (extra > 0 && node !== undefined) values[node] += extra;
    }
    return { key: 'pinned', label: 'pinned bytes (heap analysis)', unit: 'bytes', values };
  }

  function section(id, title, ...children) {
    return el('section', { class: 'panel', id }, el('h2', null, title), children);
  }

  function setNav(links) {
    const nav = HG.clear(document.getElementById('nav'));
    for (const [href, label] of links) {
      const a = el('a', { href }, label);
      // Section links scroll; only process links change the address.
      if (href.length > 1) {
        a.addEventListener('click', (e) => {
          e.preventDefault();
          document.getElementById(href.slice(1))?.scrollIntoView({ block: 'start' });
        });
      }
      nav.appendChild(a);
    }
  }

  function renderProcess(app, k, directory) {
    const report = HG.readJson('heapgap-report-' + k);
    const view = HG.readJson('heapgap-view-' + k);
    const p = report.process || {};
    const exe = HG.basename(p.exe) || '(unknown program)';
    document.title = exe + ' (' + p.pid + ') — heapgap';
    setNav([
      ['#summary', 'Summary'],
      ['#timeline', 'Timeline'],
      ['#flame', 'Flame graph'],
      ['#stacks', 'Stacks'],
      ['#heap', 'Heap map'],
    ].concat(directory ? [['#', 'All processes']] : []));

    const warnings = report.warnings || [];
    const truncated = p.end === 'truncated';
    HG.append(app, [
      directory ? el('p', null, el('a', { href: '#', 'data-testid': 'back' }, '← all processes')) : null,
      el('div', { id: 'summary' },
        el('h1', { 'data-testid': 'title' }, exe + ' (pid ' + p.pid + ')'),
        el('div', { class: 'cmdline', 'data-testid': 'cmdline', title: p.exe || '' }, (p.argv || []).length ? p.argv.join(' ') : '(no command line recorded)'),
        el('div', { class: 'meta' }, 'trace ', el('span', { class: 'mono' }, report.trace), ' · heapgap ' + report.heapgap_version + (p.forked ? ' · fork child of ' + p.parent_pid : '') + (p.exec_path ? ' · exec of ' + p.exec_path : ''))),
      truncated ? el('div', { class: 'banner truncated', 'data-testid': 'truncated' }, 'This trace is truncated: the process ended without a clean exit, so the figures cover what was recorded until it stopped.') : null,
      warnings.length ? el('div', { class: 'banner', 'data-testid': 'warnings' }, el('b', null, 'Warnings'), el('ul', null, warnings.map((w) => el('li', null, w)))) : null,
      summaryCards(report, view),
      (view.notes || []).length ? el('p', { class: 'notes' }, view.notes.join('; ') + '.') : null,
    ]);

    const timelineBox = el('div');
    const flameBox = el('div');
    const tablesBox = el('div');
    const heapBox = el('div');
    HG.append(app, [
      section('timeline', 'Heap over time', timelineBox),
      section('flame', 'Where the memory went', flameBox),
      section('stacks', 'Stacks', tablesBox),
      section('heap', 'Heap map', heapBox),
    ]);

    const state = { report, view };
    state.heapMap = new HG.HeapMap(heapBox, view, report);
    const markers = [];
    if (report.peak && report.peak.live_bytes > 0) markers.push({ t: report.peak.time_ns, label: 'peak live heap', color: '#c73a3a' });
    if (typeof report.peak?.footprint_time_ns === 'number' && report.peak.footprint_bytes > 0 && report.peak.footprint_time_ns !== report.peak.time_ns) {
      markers.push({ t: report.peak.footprint_time_ns, label: 'peak footprint', color: '#8e44ad' });
    }
    const worst = report.heap?.at_worst_holes;
    if (worst && typeof worst.time_ns === 'number' && worst.hole_bytes > 0) markers.push({ t: worst.time_ns, label: 'most holes', color: '#b7950b' });
    // What changed the allocator's behaviour: glibc raising its mmap
    // threshold, the program's malloc_trim and mallopt calls.
    for (const c of report.heap?.mmap_threshold_changes || []) {
      if (typeof c.time_ns === 'number') markers.push({ t: c.time_ns, label: 'mmap threshold ' + HG.human(c.to_bytes), color: '#17a589' });
    }
    for (const c of report.heap?.allocator_calls || []) {
      if (typeof c.time_ns === 'number' && c.function) markers.push({ t: c.time_ns, label: c.function, color: '#5d6677' });
    }
    state.timeline = new HG.Timeline(timelineBox, view, report, markers, (t) => {
      if (state.heapMap.maps.length) state.heapMap.pick(t);
    });
    const measures = view.measures.filter((m) => view.tree.self[m.key]).map((m) => Object.assign({ values: view.tree.self[m.key] }, m));
    const pinned = pinnedMeasure(report, view);
    if (pinned) measures.push(pinned);
    // Leaks first when there are any: that is what a leak hunt looks at.
    const first = report.leaks && report.leaks.bytes > 0 ? 'leaked' : 'peak';
    measures.sort((a, b) => (b.key === first) - (a.key === first));
    state.flame = new HG.FlameGraph(flameBox, view, measures);
    state.tables = new HG.StackTables(tablesBox, report);
    state.timeline.render();
    state.flame.render();
    return state;
  }

  function renderDirectory(app, index) {
    document.title = 'heapgap — ' + (index.directory || 'traces');
    setNav([]);
    const rows = index.processes.map((entry, position) => {
      if (entry.data < 0) return { entry, position, report: null, verdict: { text: 'unreadable: ' + entry.error, level: 'warn' } };
      const report = HG.readJson('heapgap-report-' + entry.data);
      return { entry, position, report, verdict: verdict(report) };
    });
    const failing = rows.filter((r) => r.verdict.level === 'bad').length;
    const table = el(
      'table',
      { class: 'processes', 'data-testid': 'processes' },
      el('thead', null, el('tr', null, ['process', 'pid', 'parent', 'command line', 'in use at exit', 'peak live heap', 'verdict'].map((h) => el('th', null, h)))),
      el(
        'tbody',
        null,
        rows.map(({ entry, report, verdict: v }) => {
          const p = report ? report.process : {};
          const row = el(
            'tr',
            { class: 'row', dataset: { testid: 'process-row', trace: entry.trace } },
            el('td', null, report ? HG.basename(p.exe) : HG.basename(entry.trace)),
            el('td', null, report ? String(p.pid) : ''),
            el('td', null, report ? String(p.parent_pid) : ''),
            el('td', { class: 'mono' }, report ? (p.argv || []).join(' ') : entry.trace),
            el('td', null, report ? HG.human(report.leaks.bytes) : ''),
            el('td', null, report ? HG.human(report.peak.live_bytes) : ''),
            el('td', { class: 'verdict ' + v.level }, v.text)
          );
          if (report) row.addEventListener('click', () => (location.hash = '#p=' + entry.data));
          return row;
        })
      )
    );
    HG.append(app, [
      el('h1', null, 'Traces in ', el('span', { class: 'mono' }, index.directory || '')),
      el('p', { class: 'meta' }, HG.num(rows.length) + ' traces; ' + HG.num(failing) + ' with leaks. Click a process to open its view.'),
      el('section', { class: 'panel' }, table),
    ]);
  }

  function route() {
    const app = HG.clear(document.getElementById('app'));
    HG.hideTip();
    const index = HG.readJson('heapgap-index');
    if (!index) {
      HG.app = renderProcess(app, 0, false);
      return;
    }
    const m = /^#p=(\d+)$/.exec(location.hash);
    if (m && document.getElementById('heapgap-report-' + m[1])) {
      HG.app = renderProcess(app, Number(m[1]), true);
      window.scrollTo(0, 0);
    } else {
      HG.app = null;
      renderDirectory(app, index);
    }
  }

  window.addEventListener('hashchange', route);
  HG.verdict = verdict;
  document.addEventListener('DOMContentLoaded', route);
})();
