/// The timeline as one self-contained HTML page: the SVG inline, with a horizontal zoom
/// (buttons, or Ctrl + mouse wheel around the pointer) that lays the bars out again from
/// their `data-s`/`data-e` seconds, so long runs can be read down to single processes.
public struct TimelineHTML {
    /// The SVG timeline to embed.
    public var timeline: TimelineSVG

    /// A page for `timeline`.
    public init(timeline: TimelineSVG) { self.timeline = timeline }

    /// The HTML document.
    public func render() -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(TimelineSVG.escape("procwatch timeline: \(timeline.report.path)"))</title>
        <style>
        body { margin: 0; font: 13px sans-serif; }
        #controls { position: sticky; top: 0; background: #f4f4f4; padding: 6px; border-bottom: 1px solid #ccc; }
        #controls button { min-width: 2.5em; }
        #view { overflow: auto; }
        .process:hover > .bar { stroke: #000; stroke-width: 1.5; }
        </style>
        </head>
        <body>
        <div id="controls">
        <button id="zoom-in" title="zoom in">+</button>
        <button id="zoom-out" title="zoom out">&#8722;</button>
        <button id="zoom-reset">fit</button>
        <span id="zoom-level">1&#215;</span>
        &#8212; Ctrl + wheel zooms around the pointer; hover a bar for its command line and figures.
        </div>
        <div id="view">
        \(timeline.render())</div>
        <script>
        (function () {
          const svg = document.querySelector('#view svg');
          const view = document.getElementById('view');
          const label = +svg.dataset.labelWidth, plot = +svg.dataset.plotWidth, span = +svg.dataset.span;
          const height = +svg.getAttribute('height');
          let zoom = 1;
          function layout() {
            const width = plot * zoom, x = s => label + s / span * width;
            svg.setAttribute('width', label + width + 20);
            svg.setAttribute('viewBox', '0 0 ' + (label + width + 20) + ' ' + height);
            svg.querySelectorAll('[data-s]').forEach(el => {
              const s = +el.dataset.s;
              if (el.tagName === 'line') { el.setAttribute('x1', x(s)); el.setAttribute('x2', x(s)); }
              else if (el.classList.contains('bar')) {
                el.setAttribute('x', x(s)); el.setAttribute('width', Math.max(1, x(+el.dataset.e) - x(s)));
              } else if (el.classList.contains('exit')) { el.setAttribute('x', x(s) - 1); }
              else { el.setAttribute('x', x(s) + 2); }
            });
            document.getElementById('zoom-level').textContent = zoom.toFixed(zoom < 10 ? 1 : 0) + '\\u00d7';
          }
          function zoomTo(next, clientX) {
            const rect = view.getBoundingClientRect();
            const px = (clientX === undefined ? rect.width / 2 : clientX - rect.left);
            const at = (view.scrollLeft + px - label) / zoom;
            zoom = Math.min(Math.max(next, 1), 10000);
            layout();
            view.scrollLeft = label + at * zoom - px;
          }
          document.getElementById('zoom-in').onclick = () => zoomTo(zoom * 2);
          document.getElementById('zoom-out').onclick = () => zoomTo(zoom / 2);
          document.getElementById('zoom-reset').onclick = () => zoomTo(1);
          view.addEventListener('wheel', e => {
            if (!e.ctrlKey) return;
            e.preventDefault();
            zoomTo(zoom * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX);
          }, { passive: false });
        })();
        </script>
        </body>
        </html>

        """
    }
}
