// Today's counts in the header and the two bar charts (by category, by channel), ECharts from
// vendor/echarts (the library's global `echarts`, read, never written).

/**
 * @typedef {ReturnType<NonNullable<typeof globalThis.echarts>["init"]>} Chart  an ECharts instance
 * @typedef {{name: string, count: number}} Bar  a row of today's counts (the snapshot's Count)
 */

/** @type {Record<string, Chart>} */
const charts = {};

function chartFont() {
  return Math.round(Math.max(12, Math.min(30, window.innerWidth / 120)));
}

/**
 * @param {string} id
 * @param {Bar[] | null | undefined} rows
 * @param {string} colour
 */
function drawChart(id, rows, colour) {
  const node = document.getElementById(id);
  const echarts = globalThis.echarts;
  if (!node || !echarts) return;
  const chart = charts[id] || (charts[id] = echarts.init(node, null, { renderer: "canvas" }));
  const font = chartFont();
  const data = (rows || []).slice().sort((a, b) => a.count - b.count);
  chart.setOption(
    {
      animation: false,
      grid: { left: 8, right: font * 2.6, top: 4, bottom: 4, containLabel: true },
      xAxis: { type: "value", show: false },
      yAxis: {
        type: "category",
        data: data.map((r) => r.name),
        axisLabel: { color: "#c9d4e3", fontSize: font, margin: font * 0.5 },
        axisLine: { show: false },
        axisTick: { show: false },
      },
      series: [
        {
          type: "bar",
          data: data.map((r) => r.count),
          barWidth: "62%",
          barMaxWidth: font * 1.4,
          itemStyle: { color: colour, borderRadius: [0, font / 4, font / 4, 0] },
          label: { show: true, position: "right", color: "#ffffff", fontSize: font, fontWeight: "bold" },
        },
      ],
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    },
    true,
  );
  node.dataset.bars = String(data.length);
}

/**
 * Today's counts and charts ({today, open, by_category, by_channel}); `replayed`: a replayed day's.
 * @param {{today: number, open: number, by_category: Bar[], by_channel: Bar[]} | null | undefined} counts
 *   the snapshot's (WallCounts), the store's or replay-model.js panelsAt's
 * @param {boolean} replayed
 */
export function renderCounts(counts, replayed) {
  if (!counts) return;
  /** @type {HTMLElement} */ (document.getElementById("count-today")).textContent = String(counts.today);
  /** @type {HTMLElement} */ (document.getElementById("count-open")).textContent = String(counts.open);
  if (replayed) /** @type {HTMLElement} */ (document.getElementById("count-overdue")).textContent = "–";
  drawChart("chart-category", counts.by_category, "#40c8ff");
  drawChart("chart-channel", counts.by_channel, "#ffb347");
}

export function resizeCharts() {
  for (const chart of Object.values(charts)) chart.resize();
}

window.addEventListener("resize", resizeCharts);
