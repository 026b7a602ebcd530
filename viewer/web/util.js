// Shared helpers: DOM building (text only, never markup), number and time
// formatting, and access to the frames of the view data.
//
// Every string that comes from a trace (function and file names, command
// lines, paths) reaches the page through text nodes, attribute values or
// canvas text, never through HTML parsing.
(function () {
  'use strict';
  const HG = (window.HG = window.HG || {});

  // el('div', {class: 'x', title: s}, child, 'text', ...): an element whose
  // string children become text nodes.
  HG.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on') && typeof value === 'function') {
          node.addEventListener(key.slice(2), value);
        } else if (key === 'dataset') {
          for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
        } else {
          node.setAttribute(key, value === true ? '' : String(value));
        }
      }
    }
    HG.append(node, children);
    return node;
  };

  HG.append = function (node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  HG.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  const thousands = new Intl.NumberFormat('en-US');
  // 1234567 -> "1,234,567", as the text report prints counts.
  HG.num = (n) => (n === undefined || n === null ? '–' : thousands.format(n));

  // "1 block", "2 blocks".
  HG.count = (n, noun) => HG.num(n) + ' ' + noun + (n === 1 ? '' : 's');

  // Bytes for people: "40.2 KiB".
  HG.human = function (bytes) {
    if (bytes === undefined || bytes === null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = bytes;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    if (u === 0) return v + ' B';
    return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ' + units[u];
  };

  // Exact bytes with the human form: "41,160 B (40.2 KiB)".
  HG.bytes = function (bytes) {
    if (bytes === undefined || bytes === null) return '–';
    return bytes < 1024 ? HG.num(bytes) + ' B' : HG.num(bytes) + ' B (' + HG.human(bytes) + ')';
  };

  // Nanoseconds as the text report writes them: "850 ns", "12.3 us",
  // "4.56 ms", "1.234 s".
  HG.duration = function (ns) {
    if (ns === undefined || ns === null) return '–';
    if (ns < 1e3) return Math.round(ns) + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + ' us';
    if (ns < 1e9) return (ns / 1e6).toFixed(2) + ' ms';
    return (ns / 1e9).toFixed(3) + ' s';
  };

  HG.percent = (part, whole) => (whole > 0 ? ((100 * part) / whole).toFixed(1) + '%' : '0%');

  HG.basename = function (path) {
    if (!path) return '';
    const i = path.lastIndexOf('/');
    return i < 0 ? path : path.slice(i + 1);
  };

  // A frame of a JSON report record, as the text report writes it.
  HG.frameWhere = function (f) {
    if (f.file) return f.line > 0 ? f.file + ':' + f.line : f.file;
    if (f.module) return f.module + '+' + f.module_offset;
    return 'unknown module';
  };
  HG.frameName = (f) => f.function || f.address || '?';

  // The frame that says where a stack allocated: the innermost one, as the
  // text report's frame #0.
  HG.siteFrame = (stack) => (stack && stack.length ? stack[0] : null);

  // A list of frames (innermost first) as an <ol>.
  HG.stackList = function (frames) {
    if (!frames || frames.length === 0) {
      return HG.el('div', { class: 'muted' }, '(no stack recorded)');
    }
    return HG.el(
      'ol',
      { class: 'stack', start: '0' },
      frames.map((f) =>
        HG.el(
          'li',
          null,
          HG.el('span', { class: 'fn' }, f.name),
          ' ',
          HG.el('span', { class: 'where' }, '(' + f.where + ')'),
          f.inlined ? HG.el('span', { class: 'inl' }, ' [inlined]') : null
        )
      )
    );
  };

  // Report frames to the {name, where, inlined} form stackList takes.
  HG.reportFrames = (stack) =>
    (stack || []).map((f) => ({ name: HG.frameName(f), where: HG.frameWhere(f), inlined: !!f.inlined }));

  // Reads the JSON held by the script element (type application/json) `id`.
  HG.readJson = function (id) {
    const node = document.getElementById(id);
    if (!node) return null;
    return JSON.parse(node.textContent);
  };

  // The view data's call tree: frames of node `i`, innermost first, in the
  // {name, where, inlined} form.
  HG.nodeFrames = function (view, i) {
    const out = [];
    const tree = view.tree;
    const fr = view.frames;
    const s = view.strings;
    while (i > 0) {
      const f = tree.frame[i];
      if (f >= 0) {
        const file = s[fr.file[f]];
        const line = fr.line[f];
        const module = s[fr.module[f]];
        out.push({
          name: s[fr.name[f]],
          where: file ? (line > 0 ? file + ':' + line : file) : module || 'unknown module',
          inlined: fr.inlined[f] === 1,
        });
      }
      i = tree.parent[i];
    }
    return out;
  };

  // The pinners of the report's heap analysis: the main heap's and each
  // thread arena's.
  HG.allPinners = function (heap) {
    if (!heap) return [];
    const out = Array.isArray(heap.pinners) ? heap.pinners.slice() : [];
    for (const arena of Array.isArray(heap.arenas) ? heap.arenas : []) {
      if (Array.isArray(arena.pinners)) out.push(...arena.pinners);
    }
    return out;
  };

  // One floating tooltip for the whole page.
  let tip = null;
  HG.showTip = function (x, y, lines) {
    if (!tip) {
      tip = HG.el('div', { class: 'tooltip', role: 'tooltip' });
      document.body.appendChild(tip);
    }
    tip.textContent = lines.join('\n');
    tip.style.display = 'block';
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    const left = x + 14 + w > window.innerWidth ? Math.max(0, x - 14 - w) : x + 14;
    const top = y + 14 + h > window.innerHeight ? Math.max(0, y - 14 - h) : y + 14;
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  };
  HG.hideTip = function () {
    if (tip) tip.style.display = 'none';
  };

  // A canvas sized for the device's pixels; returns its 2D context, scaled
  // so that drawing uses CSS pixels.
  HG.sizeCanvas = function (canvas, cssWidth, cssHeight) {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(cssWidth * ratio));
    canvas.height = Math.max(1, Math.round(cssHeight * ratio));
    canvas.style.height = cssHeight + 'px';
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return ctx;
  };

  // A stable colour per name, in warm flame-graph tones.
  HG.nameColor = function (name, dim) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    const hue = 8 + (Math.abs(h) % 42);
    const light = 55 + (Math.abs(h >> 8) % 14);
    return dim ? 'hsl(' + hue + ', 15%, 86%)' : 'hsl(' + hue + ', 85%, ' + light + '%)';
  };

  // Text cut to fit `width` pixels, with an ellipsis.
  HG.fitText = function (ctx, text, width) {
    if (width < 12) return '';
    if (ctx.measureText(text).width <= width) return text;
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ctx.measureText(text.slice(0, mid) + '…').width <= width) lo = mid;
      else hi = mid - 1;
    }
    return lo === 0 ? '' : text.slice(0, lo) + '…';
  };
})();
