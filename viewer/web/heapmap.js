// The heap laid out by address at one instant: the main heap, each thread
// arena heap and the mmapped chunks as strips, live chunks and the free gaps
// between them drawn to scale. The topmost live chunk of a heap (and the
// pinners the report's heap analysis names) are highlighted: while they live
// the heap cannot shrink below them. Wheel to zoom, drag to pan, click a
// chunk for its stack, size and age.
(function () {
  'use strict';
  const HG = (window.HG = window.HG || {});
  const STRIP = 46;
  const RULER = 16;

  // Chunk i of a region as an object.
  function chunkAt(region, i) {
    const c = region.chunk;
    return {
      index: i,
      offset: c.offset[i],
      bytes: c.bytes[i],
      size: c.size[i],
      node: c.node[i],
      time_ns: c.time_ns[i],
      count: c.count[i],
      start: c.start ? c.start[i] : null,
    };
  }

  function addressOf(region, chunk) {
    if (chunk.start) return chunk.start;
    return '0x' + (BigInt(region.start) + BigInt(chunk.offset)).toString(16);
  }

  // glibc gives the top of a heap back only when more than this is free
  // there (M_TRIM_THRESHOLD's default): less free space below the topmost
  // chunk is not worth highlighting.
  const TRIM_THRESHOLD = 128 * 1024;

  // The pinners of the report's heap analysis for a heap map: chunks that
  // would let the heap give back more than themselves if freed. The analysis
  // describes the end; other instants have none.
  function reportPinners(heap, snapshot) {
    if (!heap || !Array.isArray(heap.pinners) || snapshot.name !== 'end') return [];
    return HG.allPinners(heap).filter((p) => !p.glibc_internal && p.address && p.bytes_released_if_freed > (p.chunk_bytes || p.size || 0));
  }

  class RegionStrip {
    constructor(map, region, snapshot) {
      this.map = map;
      this.region = region;
      this.snapshot = snapshot;
      const extent = region.kind === 'mmapped' ? region.chunk_bytes : region.extent_bytes;
      this.extent = Math.max(extent, 1);
      this.view = [0, this.extent];
      const n = region.chunk.offset.length;
      // The highlighted chunks, index -> why: the pinners the report's heap
      // analysis names (matched by address), or without one the topmost live
      // chunk of a heap with more than the trim threshold free below it.
      this.pins = new Map();
      const isHeap = region.kind === 'main' || region.kind === 'arena';
      if (snapshot.name === 'end' && Array.isArray(map.report.heap?.pinners)) {
        const byAddress = new Map(reportPinners(map.report.heap, snapshot).map((p) => [BigInt(p.address), p]));
        const start = BigInt(region.start);
        for (let i = 0; isHeap && i < n; i++) {
          if (region.chunk.count[i] !== 1) continue;
          const chunk = start + BigInt(region.chunk.offset[i]);
          const p = byAddress.get(chunk) || byAddress.get(chunk + 16n);
          if (p) this.pins.set(i, { pinner: p });
        }
      } else if (isHeap && n > 0 && region.hole_bytes >= TRIM_THRESHOLD) {
        this.pins.set(n - 1, { topmost: true });
      }

      this.node = HG.el('div', { class: 'region', dataset: { testid: 'heap-region', kind: region.kind } });
      const head = HG.el(
        'div',
        { class: 'head' },
        HG.el('span', { class: 'name' }, region.name),
        region.kind === 'mmapped' ? HG.el('span', null, HG.num(region.live_chunks) + ' mappings, ' + HG.bytes(region.chunk_bytes)) : HG.el('span', { class: 'mono' }, region.start + ' – ' + region.end),
        region.kind !== 'mmapped' ? HG.el('span', null, 'extent ' + HG.bytes(region.extent_bytes)) : null,
        HG.el('span', null, 'live ' + HG.num(region.live_chunks) + ' chunks, ' + HG.human(region.live_bytes) + ' requested'),
        region.hole_bytes !== undefined ? HG.el('span', { dataset: { testid: 'region-holes' } }, 'free between chunks ' + HG.bytes(region.hole_bytes) + ' in ' + HG.num(region.holes) + ' gaps (largest ' + HG.human(region.largest_hole_bytes) + ')') : null,
        region.top_free_bytes !== undefined ? HG.el('span', null, 'free above the top chunk ' + HG.human(region.top_free_bytes)) : null
      );
      this.canvas = HG.el('canvas', { 'data-testid': 'heap-canvas' });
      this.wrap = HG.el('div', { class: 'canvas-wrap' }, this.canvas);
      HG.append(this.node, [head, this.wrap, this.pinList()]);

      this.canvas.addEventListener('wheel', (e) => {
        e.preventDefault();
        const f = this.fraction(e);
        const [a, b] = this.view;
        const at = a + f * (b - a);
        const scale = e.deltaY < 0 ? 0.7 : 1 / 0.7;
        const span = Math.min(this.extent, Math.max(16, (b - a) * scale));
        const start = Math.min(Math.max(0, at - f * span), this.extent - span);
        this.view = [start, start + span];
        this.render();
      }, { passive: false });
      this.canvas.addEventListener('mousedown', (e) => {
        this.drag = { x: e.clientX, view: this.view.slice(), moved: false };
      });
      window.addEventListener('mousemove', (e) => {
        if (!this.drag) return;
        const dx = e.clientX - this.drag.x;
        if (Math.abs(dx) > 3) this.drag.moved = true;
        const [a, b] = this.drag.view;
        const shift = (-dx / this.width()) * (b - a);
        const start = Math.min(Math.max(0, a + shift), this.extent - (b - a));
        this.view = [start, start + (b - a)];
        this.render();
      });
      window.addEventListener('mouseup', (e) => {
        if (!this.drag) return;
        const moved = this.drag.moved;
        this.drag = null;
        if (!moved && e.target === this.canvas) this.click(e);
      });
      this.canvas.addEventListener('dblclick', () => {
        this.view = [0, this.extent];
        this.render();
      });
      this.canvas.addEventListener('mousemove', (e) => this.hover(e));
      this.canvas.addEventListener('mouseleave', () => HG.hideTip());
    }

    pinList() {
    const region = this.region;
    if (!this.pins.size) return null;
    const items = [...this.pins.entries()].sort((a, b) => b[0] - a[0]).map(([i, why]) => {
      const c = chunkAt(region, i);
      const frames = c.node >= 0 ? HG.nodeFrames(this.map.view, c.node) : [];
      const site = frames[0];
      return HG.el(
        'li',
        { dataset: { testid: 'pinner', chunk: i } },
        HG.el('span', { class: 'pin-mark' }, '▲ '),
        HG.bytes(c.size) + ' from ' + (site ? site.name + ' (' + site.where + ')' : 'an unknown stack') + ', allocated at ' + HG.duration(c.time_ns) + ', chunk at ' + addressOf(region, c),
        why.pinner
          ? ': freeing it would let the heap give back ' + HG.bytes(why.pinner.bytes_released_if_freed) + ' (heap analysis)'
          : ': the topmost live chunk; while it lives the heap cannot shrink below it, over ' + HG.bytes(region.hole_bytes) + ' of free chunks'
      );
    });
    return HG.el('ul', { class: 'pinners' }, items);
  }

    width() {
      return Math.max(10, this.wrap.clientWidth);
    }

    fraction(e) {
      const box = this.canvas.getBoundingClientRect();
      return Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
    }

    render() {
      const width = this.wrap.clientWidth;
      if (width === 0) return;
      const ctx = HG.sizeCanvas(this.canvas, width, STRIP + RULER);
      const [a, b] = this.view;
      const scale = width / (b - a);
      const c = this.region.chunk;
      const packed = this.region.kind === 'mmapped';
      ctx.fillStyle = packed ? '#eef0f4' : '#f3d9d9';
      ctx.fillRect(0, 0, width, STRIP);
      // Live chunks, at least a pixel wide; neighbours within one pixel
      // share it.
      ctx.fillStyle = '#3d7dd8';
      let drawnTo = -1;
      for (let i = 0; i < c.offset.length; i++) {
        const end = c.offset[i] + c.bytes[i];
        if (end < a) continue;
        if (c.offset[i] > b) break;
        const x0 = (c.offset[i] - a) * scale;
        const x1 = Math.max((end - a) * scale, x0 + 1);
        if (x1 <= drawnTo) continue;
        const from = Math.max(x0, drawnTo);
        ctx.fillRect(from, 4, x1 - from, STRIP - 8);
        if (packed && x1 - x0 > 3) {
          ctx.fillStyle = '#ffffff';
          ctx.fillRect(x1 - 1, 4, 1, STRIP - 8);
          ctx.fillStyle = '#3d7dd8';
        }
        drawnTo = x1;
      }
      for (const i of this.pins.keys()) {
        const x0 = (c.offset[i] - a) * scale;
        const w = Math.max(c.bytes[i] * scale, 3);
        ctx.fillStyle = '#d62828';
        ctx.fillRect(x0, 0, w, STRIP);
        ctx.beginPath();
        ctx.moveTo(x0 + w / 2, STRIP - 10);
        ctx.lineTo(x0 + w / 2 - 6, STRIP);
        ctx.lineTo(x0 + w / 2 + 6, STRIP);
        ctx.closePath();
        ctx.fill();
      }
      if (this.selected !== undefined && this.selected !== null) {
        const i = this.selected;
        const x0 = (c.offset[i] - a) * scale;
        ctx.strokeStyle = '#1d2330';
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 - 1, 1, Math.max(c.bytes[i] * scale, 2) + 2, STRIP - 2);
      }
      // Ruler: offsets from the region's start.
      ctx.fillStyle = '#5d6677';
      ctx.font = '10.5px ' + getComputedStyle(document.body).fontFamily;
      ctx.textBaseline = 'top';
      for (let k = 0; k <= 4; k++) {
        const x = (width * k) / 4;
        ctx.textAlign = k === 0 ? 'left' : k === 4 ? 'right' : 'center';
        ctx.fillText((packed ? '' : '+') + HG.human(Math.round(a + ((b - a) * k) / 4)), x, STRIP + 3);
      }
    }

    // The chunk under the pointer (or within two pixels of it).
    chunkAtPointer(e) {
      const [a, b] = this.view;
      const f = this.fraction(e);
      const at = a + f * (b - a);
      const slack = (2 * (b - a)) / this.width();
      const c = this.region.chunk;
      let lo = 0;
      let hi = c.offset.length - 1;
      if (hi < 0) return { at, index: -1 };
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (c.offset[mid] <= at) lo = mid;
        else hi = mid - 1;
      }
      for (const i of [lo, lo + 1, lo - 1]) {
        if (i < 0 || i >= c.offset.length) continue;
        if (at >= c.offset[i] - slack && at < c.offset[i] + c.bytes[i] + slack) return { at, index: i };
      }
      return { at, index: -1 };
    }

    hover(e) {
      if (this.drag && this.drag.moved) return;
      const { at, index } = this.chunkAtPointer(e);
      if (index < 0) {
        HG.showTip(e.clientX, e.clientY, ['free', '+' + HG.num(Math.round(at))]);
        return;
      }
      const c = chunkAt(this.region, index);
      HG.showTip(e.clientX, e.clientY, [
        (c.count > 1 ? HG.num(c.count) + ' chunks' : 'chunk') + ' at ' + addressOf(this.region, c),
        HG.bytes(c.size) + ' requested, ' + HG.bytes(c.bytes) + ' of heap',
        'click for its stack',
      ]);
    }

    click(e) {
      const { index } = this.chunkAtPointer(e);
      this.selected = index < 0 ? null : index;
      this.render();
      this.map.showChunk(this, index);
    }
  }

  class HeapMap {
    constructor(container, view, report) {
      this.view = view;
      this.report = report;
      this.maps = view.heap_maps || [];
      this.strips = [];
      if (!this.maps.length) {
        container.appendChild(HG.el('p', { class: 'muted' }, 'No live chunks to show.'));
        return;
      }
      this.buttons = HG.el('div', { class: 'controls' }, HG.el('span', null, 'Instant:'));
      for (const m of this.maps) {
        const button = HG.el('button', { type: 'button', dataset: { map: m.name } }, m.label + ' (' + HG.duration(m.time_ns) + ')');
        button.addEventListener('click', () => this.show(m.name));
        this.buttons.appendChild(button);
      }
      this.note = HG.el('div', { class: 'notes' });
      this.body = HG.el('div');
      this.details = HG.el('div', { class: 'details', 'data-testid': 'heap-details' }, HG.el('span', { class: 'muted' }, 'Click a chunk to see its stack, size and age.'));
      // What the report's heap analysis says about its own accuracy.
      const check = report.heap?.model_check;
      const remarks = [];
      for (const d of Array.isArray(check?.differences) ? check.differences : []) remarks.push(HG.el('li', null, 'differs from glibc: ' + d));
      for (const e of Array.isArray(check?.estimates) ? check.estimates : []) remarks.push(HG.el('li', { class: 'muted' }, e));
      const analysis = remarks.length ? HG.el('div', { class: 'notes', 'data-testid': 'heap-analysis-notes' }, 'Heap analysis:', HG.el('ul', null, remarks)) : null;
      HG.append(container, [this.buttons, this.note, this.body, this.details, analysis]);
      // The end shows what stays pinned; the peak is one click away.
      this.show(this.maps[this.maps.length - 1].name);
    }

    // Shows the instant nearest time t.
    pick(t) {
      let best = this.maps[0];
      for (const m of this.maps) if (Math.abs(m.time_ns - t) < Math.abs(best.time_ns - t)) best = m;
      this.show(best.name);
    }

    show(name) {
      const snapshot = this.maps.find((m) => m.name === name);
      if (!snapshot) return;
      this.current = snapshot;
      for (const b of this.buttons.querySelectorAll('button')) b.classList.toggle('active', b.dataset.map === name);
      this.note.textContent =
        'Live chunks (blue) and free space (pink) ' + snapshot.label + ', ' + HG.duration(snapshot.time_ns) + ' after the start; red: the chunks that keep a heap from shrinking.' +
        (snapshot.merged ? ' Below the topmost chunks of each heap, neighbouring chunks are merged into one entry to keep the page small.' : '');
      HG.clear(this.body);
      this.strips = snapshot.regions.map((r) => new RegionStrip(this, r, snapshot));
      for (const s of this.strips) this.body.appendChild(s.node);
      if (!this.strips.length) this.body.appendChild(HG.el('p', { class: 'muted' }, 'No live chunks at this instant.'));
      for (const s of this.strips) s.render();
      if (!this.observer) {
        this.observer = new ResizeObserver(() => this.strips.forEach((s) => s.render()));
        this.observer.observe(this.body);
      }
    }

    showChunk(strip, index) {
      HG.clear(this.details);
      if (index < 0) {
        this.details.appendChild(HG.el('span', { class: 'muted' }, 'Free space: no live chunk here.'));
        return;
      }
      const region = strip.region;
      const c = chunkAt(region, index);
      const age = Math.max(0, strip.snapshot.time_ns - c.time_ns);
      HG.append(this.details, [
        HG.el('div', { class: 'title' }, (c.count > 1 ? HG.num(c.count) + ' merged chunks' : 'Chunk') + ' at ' + addressOf(region, c) + ' in the ' + region.name),
        HG.el('div', null, 'requested ' + HG.bytes(c.size) + '; ' + HG.bytes(c.bytes) + ' of heap'),
        HG.el('div', null, (c.count > 1 ? 'oldest allocated at ' : 'allocated at ') + HG.duration(c.time_ns) + ', age ' + HG.duration(age) + ' ' + strip.snapshot.label),
        strip.pins.has(index)
          ? HG.el(
              'div',
              { class: 'pin-mark' },
              strip.pins.get(index).pinner
                ? 'Pins the heap: freeing it would let the heap give back ' + HG.bytes(strip.pins.get(index).pinner.bytes_released_if_freed) + '.'
                : 'Pins the heap: nothing above it is live, so the heap cannot shrink below it while it lives.'
            )
          : null,
        c.node >= 0 ? HG.stackList(HG.nodeFrames(this.view, c.node)) : HG.el('div', { class: 'muted' }, c.count > 1 ? 'Merged chunks from several stacks.' : '(no stack recorded)'),
      ]);
    }
  }

  HG.HeapMap = HeapMap;
})();
