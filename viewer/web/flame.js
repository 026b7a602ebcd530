// Flame graphs of the call tree, by any measure, top-down (callers above
// their callees) or inverted (allocating functions on top), with search and
// click-to-zoom. Drawn on a canvas: frame names are canvas text.
(function () {
  'use strict';
  const HG = (window.HG = window.HG || {});
  const ROW = 18;

  function newNode(name, depth, parent) {
    return { name, depth, parent, value: 0, self: 0, children: new Map(), frames: new Set() };
  }

  // The display tree for one measure: nodes merged by function name among
  // siblings. `values` holds each call tree node's own value.
  function buildTree(view, values, inverted) {
    const tree = view.tree;
    const names = view.frames.name;
    const s = view.strings;
    const n = tree.parent.length;
    const root = newNode('all', 0, null);
    const nameOf = (i) => (tree.frame[i] < 0 ? '?' : s[names[tree.frame[i]]]);
    const child = (node, i) => {
      const name = nameOf(i);
      let c = node.children.get(name);
      if (!c) {
        c = newNode(name, node.depth + 1, node);
        node.children.set(name, c);
      }
      c.frames.add(tree.frame[i]);
      return c;
    };
    if (!inverted) {
      const map = new Array(n);
      map[0] = root;
      for (let i = 1; i < n; i++) {
        map[i] = child(map[tree.parent[i]], i);
        map[i].self += values[i];
      }
      root.self += values[0];
      const total = (node) => {
        let v = node.self;
        for (const c of node.children.values()) v += total(c);
        node.value = v;
        return v;
      };
      total(root);
    } else {
      root.self += values[0];
      root.value += values[0];
      for (let i = 1; i < n; i++) {
        const v = values[i];
        if (!v) continue;
        root.value += v;
        let node = root;
        for (let j = i; j > 0; j = tree.parent[j]) {
          node = child(node, j);
          node.value += v;
        }
        node.self += v;
      }
    }
    const sort = (node) => {
      node.sorted = [...node.children.values()].filter((c) => c.value > 0).sort((a, b) => b.value - a.value);
      for (const c of node.sorted) sort(c);
    };
    sort(root);
    return root;
  }

  class FlameGraph {
    constructor(container, view, measures) {
      this.view = view;
      this.measures = measures; // [{key, label, unit, values}]
      this.measure = measures[0].key;
      this.inverted = false;
      this.search = '';
      this.trees = new Map();
      this.zoom = null;
      this.selected = null;
      this.rects = [];

      const select = HG.el('select', { 'aria-label': 'measure', 'data-testid': 'flame-measure' });
      for (const m of measures) select.appendChild(HG.el('option', { value: m.key }, m.label));
      select.addEventListener('change', () => this.setMeasure(select.value));
      this.select = select;
      const inverted = HG.el('input', { type: 'checkbox', 'data-testid': 'flame-inverted' });
      inverted.addEventListener('change', () => {
        this.inverted = inverted.checked;
        this.zoom = null;
        this.selected = null;
        this.render();
      });
      const search = HG.el('input', { type: 'search', placeholder: 'search functions', 'data-testid': 'flame-search' });
      search.addEventListener('input', () => {
        this.search = search.value.trim().toLowerCase();
        this.render();
      });
      const reset = HG.el('button', { type: 'button' }, 'reset zoom');
      reset.addEventListener('click', () => {
        this.zoom = null;
        this.render();
      });
      this.matchInfo = HG.el('span', { class: 'muted', 'data-testid': 'flame-match' });
      container.appendChild(
        HG.el(
          'div',
          { class: 'controls' },
          HG.el('label', null, 'Measure ', select),
          HG.el('label', null, inverted, 'inverted (allocating functions on top)'),
          search,
          reset,
          this.matchInfo
        )
      );
      this.canvas = HG.el('canvas', { 'data-testid': 'flame-canvas' });
      this.scroll = HG.el('div', { class: 'scroll canvas-wrap' }, this.canvas);
      container.appendChild(this.scroll);
      this.details = HG.el('div', { class: 'details', 'data-testid': 'flame-details' }, HG.el('span', { class: 'muted' }, 'Click a frame to zoom into it and see its stack.'));
      container.appendChild(this.details);

      this.canvas.addEventListener('mousemove', (e) => this.hover(e));
      this.canvas.addEventListener('mouseleave', () => HG.hideTip());
      this.canvas.addEventListener('click', (e) => {
        const hit = this.hit(e);
        if (!hit) return;
        this.zoom = hit.node === this.root() ? null : hit.node;
        this.selected = hit.node;
        this.render();
        this.showDetails(hit.node);
      });
      new ResizeObserver(() => this.render()).observe(this.scroll);
    }

    info() {
      return this.measures.find((m) => m.key === this.measure);
    }

    root() {
      const key = this.measure + (this.inverted ? ':inverted' : '');
      if (!this.trees.has(key)) this.trees.set(key, buildTree(this.view, this.info().values, this.inverted));
      return this.trees.get(key);
    }

    setMeasure(key) {
      if (!this.measures.some((m) => m.key === key)) return;
      this.measure = key;
      this.select.value = key;
      this.zoom = null;
      this.selected = null;
      this.render();
    }

    format(v) {
      return this.info().unit === 'bytes' ? HG.bytes(v) : HG.num(v);
    }

    matches(node) {
      return this.search !== '' && node.name.toLowerCase().includes(this.search);
    }

    render() {
      const width = this.scroll.clientWidth;
      if (width === 0) return;
      const root = this.root();
      const focus = this.zoom || root;
      const rects = [];
      // Ancestors of the zoomed node span the whole width.
      const chain = [];
      for (let a = focus.parent; a; a = a.parent) chain.unshift(a);
      for (const a of chain) rects.push({ node: a, x: 0, w: width, y: a.depth, ancestor: true });
      let maxDepth = focus.depth;
      const lay = (node, x, w) => {
        rects.push({ node, x, w, y: node.depth });
        if (node.depth > maxDepth) maxDepth = node.depth;
        if (node.value <= 0) return;
        let cx = x;
        for (const c of node.sorted) {
          const cw = (w * c.value) / node.value;
          if (cw < 0.35) break; // sorted by value: the rest are narrower still
          lay(c, cx, cw);
          cx += cw;
        }
      };
      if (focus.value > 0) lay(focus, 0, width);
      this.rects = rects;
      const height = (maxDepth + 1) * ROW + 2;
      const ctx = HG.sizeCanvas(this.canvas, width, height);
      ctx.font = '12px ' + getComputedStyle(document.body).fontFamily;
      ctx.textBaseline = 'middle';
      ctx.clearRect(0, 0, width, height);
      const searching = this.search !== '';
      for (const r of rects) {
        const y = r.y * ROW;
        const hit = this.matches(r.node);
        ctx.fillStyle = hit ? '#d63ad6' : r.node === root ? '#c9ced8' : HG.nameColor(r.node.name, r.ancestor || (searching && !hit));
        ctx.fillRect(r.x, y, Math.max(r.w - 0.5, 0.5), ROW - 1);
        if (r.node === this.selected) {
          ctx.strokeStyle = '#1d2330';
          ctx.lineWidth = 2;
          ctx.strokeRect(r.x + 1, y + 1, Math.max(r.w - 2, 1), ROW - 3);
        }
        const label = r.node === root ? 'all (' + this.format(root.value) + ')' : r.node.name;
        const text = HG.fitText(ctx, label, r.w - 6);
        if (text) {
          ctx.fillStyle = '#1d2330';
          ctx.fillText(text, r.x + 3, y + ROW / 2);
        }
      }
      if (root.value === 0) {
        ctx.fillStyle = '#5d6677';
        ctx.fillText('Nothing to show for ' + this.info().label + '.', 8, ROW / 2 + ROW);
      }
      this.updateMatch(root);
    }

    updateMatch(root) {
      if (this.search === '') {
        this.matchInfo.textContent = '';
        return;
      }
      // Sum the outermost matches only, so nested matches count once.
      let total = 0;
      let count = 0;
      const walk = (node) => {
        if (node !== root && this.matches(node)) {
          total += node.value;
          count++;
          return;
        }
        for (const c of node.sorted) walk(c);
      };
      walk(root);
      this.matchInfo.textContent =
        count === 0 ? 'no match' : 'matched ' + this.format(total) + ' (' + HG.percent(total, root.value) + ')';
    }

    hit(e) {
      const box = this.canvas.getBoundingClientRect();
      const x = e.clientX - box.left;
      const row = Math.floor((e.clientY - box.top) / ROW);
      for (let i = this.rects.length - 1; i >= 0; i--) {
        const r = this.rects[i];
        if (r.y === row && x >= r.x && x < r.x + Math.max(r.w, 1)) return r;
      }
      return null;
    }

    where(node) {
      const fr = this.view.frames;
      const s = this.view.strings;
      const out = [];
      for (const f of node.frames) {
        if (f < 0) continue;
        const file = s[fr.file[f]];
        const module = s[fr.module[f]];
        out.push(file ? (fr.line[f] > 0 ? file + ':' + fr.line[f] : file) : module);
        if (out.length === 4) break;
      }
      return [...new Set(out)];
    }

    hover(e) {
      const hit = this.hit(e);
      if (!hit) {
        HG.hideTip();
        return;
      }
      const node = hit.node;
      const root = this.root();
      const lines = [node.name, this.format(node.value) + ' (' + HG.percent(node.value, root.value) + ' of all)'];
      if (node.self > 0 && node !== root) lines.push('self: ' + this.format(node.self));
      for (const w of this.where(node)) lines.push(w);
      HG.showTip(e.clientX, e.clientY, lines);
    }

    showDetails(node) {
      const root = this.root();
      const path = [];
      for (let a = node; a && a !== root; a = a.parent) path.push({ name: a.name, where: this.where(a).join(', '), inlined: false });
      HG.clear(this.details);
      HG.append(this.details, [
        HG.el('div', { class: 'title' }, node === root ? 'all' : node.name),
        HG.el(
          'div',
          null,
          this.info().label + ': ' + this.format(node.value) + ' (' + HG.percent(node.value, root.value) + ' of all)',
          node.self > 0 && node !== root ? '; in this frame itself: ' + this.format(node.self) : ''
        ),
        path.length
          ? HG.el('div', { class: 'muted' }, this.inverted ? 'Frame and its callers, allocating function first:' : 'Stack, innermost first:')
          : null,
        path.length ? HG.stackList(this.inverted ? path.reverse() : path) : null,
      ]);
    }
  }

  HG.FlameGraph = FlameGraph;
  HG.buildFlameTree = buildTree;
})();
