// The report's stack lists (leaks, peak contributions, most allocations,
// most temporary allocations) as sortable tables; a click on a row opens its
// whole symbolized stack.
(function () {
  'use strict';
  const HG = (window.HG = window.HG || {});

  const COLUMNS = {
    bytes: { label: 'bytes', format: (v) => HG.bytes(v), num: true },
    blocks: { label: 'blocks', format: HG.num, num: true },
    allocations: { label: 'allocations', format: HG.num, num: true },
    bytes_allocated: { label: 'bytes allocated', format: (v) => HG.bytes(v), num: true },
    temporary: { label: 'temporary', format: HG.num, num: true },
    count: { label: 'count', format: HG.num, num: true },
    size: { label: 'size', format: (v) => HG.bytes(v), num: true },
    free_function: { label: 'released by' },
    alloc_function: { label: 'allocated by' },
    pinned_bytes: { label: 'pinned bytes', format: (v) => HG.bytes(v), num: true },
  };

  // The lists the report holds, in the order of the tabs.
  const LISTS = [
    { key: 'leaks', label: 'Leaks', columns: ['bytes', 'blocks', 'kind', 'allocations'], sort: 'bytes' },
    { key: 'peak', label: 'At the peak', columns: ['bytes', 'blocks', 'allocations', 'bytes_allocated'], sort: 'bytes' },
    { key: 'most_allocations', label: 'Most allocations', columns: ['allocations', 'bytes_allocated', 'temporary'], sort: 'allocations' },
    { key: 'most_temporary', label: 'Most temporary', columns: ['temporary', 'allocations', 'bytes_allocated'], sort: 'temporary' },
  ];

  function kindName(kind) {
    return String(kind).replace(/_/g, ' ');
  }

  class StackTables {
    constructor(container, report) {
      this.report = report;
      this.container = container;
      this.tabs = HG.el('div', { class: 'tabs', role: 'tablist' });
      this.body = HG.el('div');
      container.appendChild(this.tabs);
      container.appendChild(this.body);
      this.lists = LISTS.filter((l) => report[l.key] && Array.isArray(report[l.key].records));
      // Bad releases (mismatched or invalid frees), when the report has them.
      if (Array.isArray(report.errors) && report.errors.length) {
        this.lists.push({ key: 'errors', label: 'Bad releases', columns: ['kind', 'count', 'free_function', 'alloc_function', 'size'], sort: 'count', errors: true });
      }
      for (const list of this.lists) {
        const count = list.errors ? report.errors.length : report[list.key].stacks ?? report[list.key].records.length;
        const button = HG.el('button', { type: 'button', role: 'tab', dataset: { list: list.key } }, list.label + ' (' + HG.num(count) + ')');
        button.addEventListener('click', () => this.show(list.key));
        this.tabs.appendChild(button);
      }
      if (this.lists.length) this.show(this.lists[0].key);
    }

    show(key) {
      for (const b of this.tabs.children) b.classList.toggle('active', b.dataset.list === key);
      const list = this.lists.find((l) => l.key === key);
      this.current = { list, sort: list.sort, asc: false };
      this.draw();
    }

    draw() {
      const { list, sort, asc } = this.current;
      const section = list.errors ? { records: this.report.errors } : this.report[list.key];
      const records = section.records.map((r, i) => ({ r, i }));
      // Columns the records have; `kind` only when the report classifies leaks.
      const columns = list.columns.filter((c) => section.records.some((r) => r[c] !== undefined));
      if (section.records.some((r) => r.pinned_bytes !== undefined) && !columns.includes('pinned_bytes')) columns.push('pinned_bytes');
      records.sort((a, b) => {
        const x = a.r[sort];
        const y = b.r[sort];
        const d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
        return (asc ? d : -d) || a.i - b.i;
      });

      const head = HG.el('tr', null, HG.el('th', { class: 'num' }, '#'));
      for (const c of columns) {
        const spec = COLUMNS[c] || { label: c };
        const th = HG.el('th', { class: (spec.num ? 'num ' : '') + (c === sort ? 'sorted' + (asc ? ' asc' : '') : ''), dataset: { column: c } }, spec.label);
        th.addEventListener('click', () => {
          this.current.asc = this.current.sort === c ? !this.current.asc : false;
          this.current.sort = c;
          this.draw();
        });
        head.appendChild(th);
      }
      head.appendChild(HG.el('th', null, list.errors ? 'released at' : 'allocated at'));
      const tbody = HG.el('tbody');
      records.forEach(({ r, i }, position) => {
        const site = HG.siteFrame(list.errors ? r.free_stack : r.stack);
        const row = HG.el(
          'tr',
          { class: 'row', dataset: { testid: list.key + '-row', index: i, stack: r.stack_id } },
          HG.el('td', { class: 'num' }, String(position + 1)),
          columns.map((c) => {
            if (c === 'kind') return HG.el('td', null, r.kind ? HG.el('span', { class: 'kind ' + String(r.kind) }, kindName(r.kind)) : '');
            const spec = COLUMNS[c] || {};
            const format = spec.format || ((v) => (v === null ? '' : String(v)));
            return HG.el('td', { class: spec.num ? 'num' : '' }, r[c] === undefined ? '' : format(r[c]));
          }),
          HG.el('td', { class: 'site' }, site ? HG.frameName(site) + ' (' + HG.frameWhere(site) + ')' : r.stack_id === 0 ? '(no stack recorded)' : '(unknown stack)')
        );
        row.addEventListener('click', () => this.toggle(row, r, columns.length + 2, list.errors));
        tbody.appendChild(row);
      });
      const table = HG.el('table', { class: 'stacks', 'data-testid': list.key + '-table' }, HG.el('thead', null, head), tbody);
      const shown = section.records.length;
      const total = section.stacks ?? shown;
      HG.clear(this.body);
      HG.append(this.body, [
        shown === 0 ? HG.el('p', { class: 'muted' }, 'None.') : HG.el('div', { class: 'scroll' }, table),
        total > shown ? HG.el('p', { class: 'notes' }, 'The ' + HG.num(shown) + ' largest of ' + HG.num(total) + ' stacks; `heapgap report --format json` lists them all.') : null,
        Array.isArray(section.notes) && section.notes.length ? HG.el('ul', { class: 'notes' }, section.notes.map((n) => HG.el('li', null, n))) : null,
      ]);
    }

    toggle(row, record, span, error) {
      const next = row.nextElementSibling;
      if (next && next.classList.contains('stack-row')) {
        next.remove();
        row.classList.remove('open');
        return;
      }
      row.classList.add('open');
      const cell = error
        ? HG.el(
            'td',
            { colspan: span },
            HG.el('div', { class: 'muted' }, 'Released at ' + (record.address || '') + ':'),
            HG.stackList(HG.reportFrames(record.free_stack)),
            record.alloc_stack && record.alloc_stack.length ? [HG.el('div', { class: 'muted' }, 'Allocated at:'), HG.stackList(HG.reportFrames(record.alloc_stack))] : null
          )
        : HG.el('td', { colspan: span }, HG.stackList(HG.reportFrames(record.stack)));
      row.after(HG.el('tr', { class: 'stack-row', 'data-testid': 'stack-row' }, cell));
    }
  }

  HG.StackTables = StackTables;
})();
