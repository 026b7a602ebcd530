// The heap over time: live heap (with its range within each bucket), main
// heap extent, mmapped chunks, thread arena heaps, RSS, and the series of the
// report's heap analysis when it has them. Drag to zoom into a window,
// double-click to zoom out, click to pick an instant for the heap map.
(function () {
  'use strict';
  const HG = (window.HG = window.HG || {});
  const HEIGHT = 240;
  const PAD = { left: 78, right: 14, top: 12, bottom: 26 };
  const COLORS = ['#2f6fdb', '#e07b00', '#8e44ad', '#17a589', '#c0392b', '#7f8c8d', '#b7950b', '#1abc9c', '#d35400'];

  // Spreading a long array into Math.max would overflow the stack.
  const maxOf = (values) => values.reduce((m, x) => (x > m ? x : m), 0);

  const OWN_SERIES = [
    { key: 'live_bytes', label: 'live heap (requested bytes)', band: true },
    { key: 'heap_extent', label: 'main heap extent (break − start)' },
    { key: 'mmapped_bytes', label: 'mmapped chunks' },
    { key: 'arena_bytes', label: 'thread arena heaps' },
    { key: 'rss_bytes', label: 'RSS' },
  ];

  // Series of the view data's timeline: one point per bucket, the latest
  // value (carried forward through empty buckets) and the bucket's range.
  function ownSeries(timeline) {
    if (!timeline || !timeline.buckets) return [];
    const out = [];
    for (const spec of OWN_SERIES) {
      const s = timeline.series[spec.key];
      if (!s) continue;
      const t = [];
      const v = [];
      const lo = [];
      const hi = [];
      let last = null;
      for (let i = 0; i < timeline.buckets; i++) {
        if (s.last[i] !== null) last = s.last[i];
        if (last === null) continue;
        t.push(timeline.start_ns + (i + 1) * timeline.width_ns);
        v.push(last);
        lo.push(s.min[i] ?? last);
        hi.push(s.max[i] ?? last);
      }
      if (t.length) out.push({ key: spec.key, label: spec.label, t, v, lo: spec.band ? lo : null, hi: spec.band ? hi : null });
    }
    return out;
  }

  // Names for the byte series of the report's heap analysis.
  const REPORT_LABELS = {
    brk_extent_bytes: 'main heap extent',
    footprint_bytes: 'footprint (heaps and mmapped chunks)',
    hole_bytes: 'holes',
    mmapped_bytes: 'mmapped chunks',
    rss_bytes: 'RSS',
    live_bytes: 'live heap (heap analysis)',
  };

  // A table as columns: {key: [values]}, from columns already or from a list
  // of points.
  function columns(table) {
    if (Array.isArray(table)) {
      if (!table.length || typeof table[0] !== 'object' || table[0] === null) return null;
      const cols = {};
      for (const k of Object.keys(table[0])) cols[k] = table.map((p) => p[k]);
      return cols;
    }
    return table && typeof table === 'object' ? table : null;
  }

  // Series of the report's `heap.timeline`: every table in it (a list of
  // points or columns) with a time_ns column; its byte-valued columns.
  function reportSeries(heap) {
    const tl = heap && heap.timeline;
    if (!tl || typeof tl !== 'object') return [];
    const tables = Array.isArray(tl) || Array.isArray(tl.time_ns) ? [tl] : Object.values(tl);
    const out = [];
    for (const table of tables) {
      const cols = columns(table);
      if (!cols || !Array.isArray(cols.time_ns)) continue;
      const times = cols.time_ns;
      for (const [k, v] of Object.entries(cols)) {
        if (k === 'time_ns' || k === 'rss_hwm_bytes' || !/bytes|extent/.test(k)) continue;
        // A list per point, one value per thread arena (named in tl.arenas).
        if (Array.isArray(v) && v.some((x) => Array.isArray(x))) {
          const width = v.reduce((m, x) => Math.max(m, Array.isArray(x) ? x.length : 0), 0);
          for (let j = 0; j < width; j++) {
            const name = Array.isArray(tl.arenas) && tl.arenas[j] !== undefined ? String(tl.arenas[j]) : String(j);
            out.push({ key: 'heap.' + k + '.' + j, label: 'arena ' + name + ' ' + (k === 'arena_extent_bytes' ? 'extent' : k.replace(/_/g, ' ')), t: times, v: v.map((x) => (Array.isArray(x) && typeof x[j] === 'number' ? x[j] : 0)), lo: null, hi: null });
          }
          continue;
        }
        if (!Array.isArray(v) || v.length !== times.length || !v.every((x) => x === null || typeof x === 'number')) continue;
        if (out.some((s) => s.key === 'heap.' + k)) continue;
        out.push({ key: 'heap.' + k, label: REPORT_LABELS[k] || k.replace(/_/g, ' '), t: times, v, lo: null, hi: null });
      }
    }
    return out;
  }

  class Timeline {
    // markers: [{t, label, color}]; onPick(t) when an instant is clicked.
    constructor(container, view, report, markers, onPick) {
      // The heap analysis's series replace the page's own coarser ones,
      // except the live heap, whose band shows the range within buckets.
      const fromReport = reportSeries(report.heap).filter((s) => s.key !== 'heap.live_bytes');
      const own = ownSeries(view.timeline).filter((s) => !fromReport.length || s.key === 'live_bytes');
      this.series = own.concat(fromReport);
      const heapMax = Math.max(1, ...this.series.filter((s) => !/rss/.test(s.key)).map((s) => maxOf(s.v)));
      this.series.forEach((s, i) => {
        s.color = COLORS[i % COLORS.length];
        // Off at first: empty series, and an RSS that would flatten the heap.
        s.on = s.v.some((x) => x > 0) && !(/rss/.test(s.key) && maxOf(s.v) > 8 * heapMax);
      });
      this.markers = markers;
      this.onPick = onPick;
      this.picked = null;
      const end = Math.max(report.process?.duration_ns || 0, ...this.series.map((s) => maxOf(s.t)));
      this.full = [0, Math.max(end, 1)];
      this.window = this.full.slice();
      this.drag = null;

      if (!this.series.length) {
        container.appendChild(HG.el('p', { class: 'muted' }, 'No heap activity over time was recorded.'));
        return;
      }
      const legend = HG.el('div', { class: 'controls', 'data-testid': 'timeline-legend' });
      for (const s of this.series) {
        const box = HG.el('input', { type: 'checkbox' });
        box.checked = s.on;
        box.addEventListener('change', () => {
          s.on = box.checked;
          this.render();
        });
        legend.appendChild(HG.el('label', null, box, HG.el('span', { class: 'legend-swatch', style: 'background:' + s.color }), s.label));
      }
      container.appendChild(legend);
      this.canvas = HG.el('canvas', { 'data-testid': 'timeline-canvas' });
      this.wrap = HG.el('div', { class: 'canvas-wrap' }, this.canvas);
      container.appendChild(this.wrap);
      this.status = HG.el('div', { class: 'notes' }, 'Drag to zoom into a window, double-click to zoom out, click to show the heap map nearest that instant.');
      container.appendChild(this.status);

      this.canvas.addEventListener('mousedown', (e) => {
        this.drag = { x0: this.xOf(e), x1: this.xOf(e) };
      });
      this.canvas.addEventListener('mousemove', (e) => {
        if (this.drag) {
          this.drag.x1 = this.xOf(e);
          this.render();
        }
        this.hover(e);
      });
      this.canvas.addEventListener('mouseleave', () => HG.hideTip());
      window.addEventListener('mouseup', (e) => {
        if (!this.drag) return;
        const { x0, x1 } = this.drag;
        this.drag = null;
        if (Math.abs(x1 - x0) > 4) {
          const a = this.timeAt(Math.min(x0, x1));
          const b = this.timeAt(Math.max(x0, x1));
          this.window = [a, b];
        } else if (e.target === this.canvas) {
          this.picked = this.timeAt(x0);
          if (this.onPick) this.onPick(this.picked);
        }
        this.render();
      });
      this.canvas.addEventListener('dblclick', () => {
        this.window = this.full.slice();
        this.render();
      });
      new ResizeObserver(() => this.render()).observe(this.wrap);
    }

    xOf(e) {
      return e.clientX - this.canvas.getBoundingClientRect().left;
    }

    plotWidth() {
      return Math.max(10, this.wrap.clientWidth - PAD.left - PAD.right);
    }

    timeAt(x) {
      const [a, b] = this.window;
      const f = Math.min(1, Math.max(0, (x - PAD.left) / this.plotWidth()));
      return a + f * (b - a);
    }

    xAt(t) {
      const [a, b] = this.window;
      return PAD.left + ((t - a) / (b - a || 1)) * this.plotWidth();
    }

    // The value of series `s` at time t (the latest point at or before t).
    valueAt(s, t) {
      let lo = 0;
      let hi = s.t.length - 1;
      if (hi < 0 || s.t[0] > t) return null;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (s.t[mid] <= t) lo = mid;
        else hi = mid - 1;
      }
      return s.v[lo];
    }

    render() {
      if (!this.canvas) return;
      const width = this.wrap.clientWidth;
      if (width === 0) return;
      const ctx = HG.sizeCanvas(this.canvas, width, HEIGHT);
      ctx.font = '11px ' + getComputedStyle(document.body).fontFamily;
      const [a, b] = this.window;
      const shown = this.series.filter((s) => s.on);
      let top = 1;
      for (const s of shown) {
        for (let i = 0; i < s.t.length; i++) {
          if (s.t[i] < a && i + 1 < s.t.length && s.t[i + 1] < a) continue;
          if (s.t[i] > b && i > 0 && s.t[i - 1] > b) break;
          top = Math.max(top, s.hi ? s.hi[i] : s.v[i]);
        }
      }
      top *= 1.08;
      const h = HEIGHT - PAD.top - PAD.bottom;
      const yAt = (v) => PAD.top + h - (v / top) * h;
      // Axes and grid.
      ctx.strokeStyle = '#e4e7ee';
      ctx.fillStyle = '#5d6677';
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      for (let i = 0; i <= 4; i++) {
        const v = (top * i) / 4;
        const y = yAt(v);
        ctx.beginPath();
        ctx.moveTo(PAD.left, y);
        ctx.lineTo(width - PAD.right, y);
        ctx.stroke();
        ctx.fillText(HG.human(Math.round(v)), PAD.left - 6, y);
      }
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      for (let i = 0; i <= 5; i++) {
        const t = a + ((b - a) * i) / 5;
        ctx.fillText(HG.duration(t), Math.min(Math.max(this.xAt(t), PAD.left + 20), width - PAD.right - 20), HEIGHT - PAD.bottom + 6);
      }
      ctx.save();
      ctx.beginPath();
      ctx.rect(PAD.left, PAD.top, this.plotWidth(), h);
      ctx.clip();
      for (const s of shown) {
        if (s.lo) {
          ctx.fillStyle = s.color + '30';
          ctx.beginPath();
          s.t.forEach((t, i) => ctx.lineTo(this.xAt(t), yAt(s.hi[i])));
          for (let i = s.t.length - 1; i >= 0; i--) ctx.lineTo(this.xAt(s.t[i]), yAt(s.lo[i]));
          ctx.closePath();
          ctx.fill();
        }
        ctx.strokeStyle = s.color;
        ctx.lineWidth = 1.6;
        ctx.beginPath();
        s.t.forEach((t, i) => {
          const x = this.xAt(t);
          if (i === 0) ctx.moveTo(x, yAt(s.v[i]));
          else {
            ctx.lineTo(x, yAt(s.v[i - 1]));
            ctx.lineTo(x, yAt(s.v[i]));
          }
        });
        ctx.stroke();
      }
      // Labels of markers close together go on lines of their own.
      const labelled = [];
      for (const m of this.markers.concat(this.picked === null ? [] : [{ t: this.picked, label: 'picked', color: '#1d2330' }])) {
        const x = this.xAt(m.t);
        let line = 0;
        while (labelled.some((l) => l.line === line && Math.abs(l.x - x) < 110)) line++;
        labelled.push({ x, line });
        ctx.strokeStyle = m.color;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x, PAD.top);
        ctx.lineTo(x, PAD.top + h);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = m.color;
        ctx.textAlign = x > width - 120 ? 'right' : 'left';
        ctx.fillText(m.label, x + (x > width - 120 ? -4 : 4), PAD.top + 2 + 12 * line);
      }
      if (this.drag) {
        ctx.fillStyle = 'rgba(47,111,219,0.15)';
        ctx.fillRect(Math.min(this.drag.x0, this.drag.x1), PAD.top, Math.abs(this.drag.x1 - this.drag.x0), h);
      }
      ctx.restore();
    }

    hover(e) {
      const x = this.xOf(e);
      if (x < PAD.left) {
        HG.hideTip();
        return;
      }
      const t = this.timeAt(x);
      const lines = ['at ' + HG.duration(t)];
      for (const s of this.series) {
        if (!s.on) continue;
        const v = this.valueAt(s, t);
        if (v !== null) lines.push(s.label + ': ' + HG.bytes(v));
      }
      HG.showTip(e.clientX, e.clientY, lines);
    }
  }

  HG.Timeline = Timeline;
})();
