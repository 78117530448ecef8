/**
 * A committee's evaluation report (issue 19) as a page a person prints.
 *
 * Pure: no I/O, no clock (the caller passes `generatedAt`). Every value that comes from the
 * report data goes through `escapeHtml` before it reaches the page; the page carries no script
 * and loads nothing (the stylesheet is inline). Money and points are integers (fen, hundredths
 * of a point) and are formatted with integer arithmetic only.
 */

export type Grade = '5-star' | '4-star' | '3-star' | 'pass' | 'fail';

export interface ReportIndicator {
  indicatorId: string;
  title: string;
  /** The indicator's weight in points (the weights of a system sum to 100). */
  weight: number;
  /** The share of the weight earned, 0..1. */
  fraction: number;
  pointsHundredths: number;
  /** Computed from the system's own records (meetings held, disclosures posted), not typed. */
  computed: boolean;
  veto: boolean;
  vetoFailed: boolean;
  /** The evaluators' scores differ beyond the threshold: to reconcile before finalising. */
  disagreement: boolean;
  evidence: string[];
}

export interface ReportDimension {
  dimensionId: string;
  title: string;
  indicators: ReportIndicator[];
}

export interface CommitteeReport {
  committee: { committeeId: string; areaId: string; areaName?: string; compoundId?: string };
  cycle: { cycleId: string; year: number; systemId: string; systemVersion: number; finalisedAt?: string };
  status: 'open' | 'finalised';
  /** 0..10000 = 0.00..100.00 points. */
  scoreHundredths: number;
  grade: Grade;
  evaluators: { evaluatorId: string; name?: string }[];
  dimensions: ReportDimension[];
  /** Indicator ids of the veto items that failed. */
  vetoed: string[];
  /** Indicator ids still to reconcile. */
  disagreements: string[];
  gaps: {
    indicatorId: string;
    title: string;
    pointsLostHundredths: number;
    advice?: string;
    dueBy: string;
  }[];
  followUps: { taskId: string; indicatorId: string; title: string; dueBy: string; status: 'open' | 'done' }[];
  comparison?: {
    previousYear: number;
    previousScoreHundredths: number;
    previousGrade: string;
    scoreChangeHundredths: number;
    gradeChange: 'up' | 'down' | 'same' | 'new';
  };
  fund?: { year: number; allocatedFen: number };
  /** The area's resident-code cases by type (functions/resident, its caseStatistics). */
  residentCases?: {
    byType: Record<
      string,
      {
        opened: number;
        open: number;
        closed: number;
        referred: number;
        closedAtFirstStep: number;
        medianDaysToClose: number | null;
      }
    >;
    total: number;
  };
  generatedAt: string;
}

const CASE_TYPE_LABELS: Record<string, string> = {
  'corridor-clutter': '楼道堆物',
  'garbage-sorting': '垃圾分类',
  'fee-arrears': '物业费欠缴',
};

export const GRADE_LABELS: Record<Grade, string> = {
  '5-star': '五星 ★★★★★',
  '4-star': '四星 ★★★★',
  '3-star': '三星 ★★★',
  pass: '合格',
  fail: '不合格',
};

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes & < > " ' so a value is safe in text and in a double- or single-quoted attribute. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);

const toWholeBigInt = (value: number | bigint, what: string): bigint => {
  if (typeof value === 'bigint') return value;
  if (!Number.isInteger(value)) throw new RangeError(`${what} must be a whole number, got ${value}`);
  return BigInt(value);
};

const groupThousands = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

const splitHundredths = (value: bigint): { sign: string; whole: bigint; cents: string } => {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  return { sign: negative ? '-' : '', whole: abs / 100n, cents: (abs % 100n).toString().padStart(2, '0') };
};

/** 8750 → "87.50", -150 → "-1.50". Hundredths must be whole. */
export const formatPoints = (hundredths: number | bigint): string => {
  const { sign, whole, cents } = splitHundredths(toWholeBigInt(hundredths, 'points (hundredths)'));
  return `${sign}${whole}.${cents}`;
};

/** 2000000 → "¥20,000.00", -150 → "-¥1.50". Exact: integer arithmetic on whole fen. */
export const formatYuan = (fen: number | bigint): string => {
  const { sign, whole, cents } = splitHundredths(toWholeBigInt(fen, 'fen'));
  return `${sign}¥${groupThousands(whole.toString())}.${cents}`;
};

const signedPoints = (hundredths: number): string =>
  hundredths > 0 ? `+${formatPoints(hundredths)}` : formatPoints(hundredths);

/** Made on the first date shown: a formatter with a time zone loads ICU's zone data, about 12 ms of a cold start. */
let shanghai: Intl.DateTimeFormat | undefined;
const shanghaiFormat = (): Intl.DateTimeFormat => {
  shanghai ??= new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return shanghai;
};

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

const shanghaiParts = (value: string): Record<string, string> | undefined => {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  const parts: Record<string, string> = {};
  for (const part of shanghaiFormat().formatToParts(date)) parts[part.type] = part.value;
  return parts;
};

/**
 * yyyy-mm-dd in Asia/Shanghai. A date without a time (a due date, "2025-06-30") is already a
 * calendar date and is shown as it is; a value that is not a date is returned unchanged (the
 * caller escapes it).
 */
export const formatDate = (value: string): string => {
  if (DATE_ONLY.test(value)) return value;
  const p = shanghaiParts(value);
  return p ? `${p.year}-${p.month}-${p.day}` : value;
};

/** yyyy-mm-dd HH:mm in Asia/Shanghai. */
export const formatDateTime = (value: string): string => {
  if (DATE_ONLY.test(value)) return value;
  const p = shanghaiParts(value);
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}` : value;
};

const gradeLabel = (grade: string): string =>
  Object.hasOwn(GRADE_LABELS, grade) ? GRADE_LABELS[grade as Grade] : grade;

const GRADE_CHANGE_LABELS: Record<NonNullable<CommitteeReport['comparison']>['gradeChange'], string> = {
  up: '上升',
  down: '下降',
  same: '持平',
  new: '首次评估',
};

const percent = (fraction: number): string =>
  Number.isFinite(fraction) ? `${Math.round(fraction * 1000) / 10}%` : String(fraction);

const e = escapeHtml;

const dateCell = (value: string): string => {
  const shown = formatDate(value);
  return DATE_ONLY.test(shown) ? `<time datetime="${e(shown)}">${e(shown)}</time>` : e(shown);
};

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; color: #111; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.6rem; margin: 0 0 0.5rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 0.5rem; border-bottom: 1px solid #999; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.5rem 0; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
.banner { border: 3px solid #000; padding: 0.5rem 1rem; margin: 1rem 0; font-weight: bold; }
.banner.provisional { border-style: dashed; }
.banner.alert { border-width: 4px; }
.score { font-size: 1.4rem; margin: 1rem 0; }
.score strong { font-size: 2rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #555; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
ul.evidence { margin: 0; padding-left: 1.2rem; }
.mark { font-weight: bold; }
.muted { color: #444; }
footer { margin-top: 2rem; font-size: 0.9rem; border-top: 1px solid #999; padding-top: 0.5rem; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10.5pt; color: #000; background: none; }
  * { background: none !important; box-shadow: none !important; }
  table { page-break-inside: auto; }
  thead { display: table-header-group; }
  tr, th, td { page-break-inside: avoid; break-inside: avoid; }
  h2, caption { page-break-after: avoid; break-after: avoid; }
  .banner { page-break-inside: avoid; break-inside: avoid; }
}
`;

const renderIndicatorRow = (i: ReportIndicator): string => {
  const marks: string[] = [];
  if (i.veto) marks.push(i.vetoFailed ? '<span class="mark">否决项 · 未通过</span>' : '否决项');
  if (i.disagreement) marks.push('<span class="mark">分歧待协调</span>');
  const evidence =
    i.evidence.length === 0
      ? '<span class="muted">—</span>'
      : `<ul class="evidence">${i.evidence.map((ref) => `<li>${e(ref)}</li>`).join('')}</ul>`;
  return [
    '<tr>',
    `<td>${e(i.title)}<br><span class="muted">${e(i.indicatorId)}</span></td>`,
    `<td class="num">${e(i.weight)}</td>`,
    `<td class="num">${e(formatPoints(i.pointsHundredths))}</td>`,
    `<td class="num">${e(percent(i.fraction))}</td>`,
    `<td>${i.computed ? '系统计算' : '评估员录入'}</td>`,
    `<td>${marks.length > 0 ? marks.join('<br>') : '—'}</td>`,
    `<td>${evidence}</td>`,
    '</tr>',
  ].join('');
};

const renderDimension = (d: ReportDimension): string => {
  const earned = d.indicators.reduce((sum, i) => sum + i.pointsHundredths, 0);
  const weight = d.indicators.reduce((sum, i) => sum + i.weight, 0);
  return [
    '<table>',
    `<caption>${e(d.title)}（${e(d.dimensionId)}）：${e(formatPoints(earned))} / ${e(weight)} 分</caption>`,
    '<thead><tr>',
    '<th scope="col">指标</th>',
    '<th scope="col" class="num">权重</th>',
    '<th scope="col" class="num">得分</th>',
    '<th scope="col" class="num">得分率</th>',
    '<th scope="col">来源</th>',
    '<th scope="col">否决 / 分歧</th>',
    '<th scope="col">证据</th>',
    '</tr></thead>',
    '<tbody>',
    d.indicators.length > 0
      ? d.indicators.map(renderIndicatorRow).join('\n')
      : '<tr><td colspan="7" class="muted">本维度无指标</td></tr>',
    '</tbody>',
    '</table>',
  ].join('\n');
};

const indicatorTitles = (report: CommitteeReport): Map<string, string> => {
  const titles = new Map<string, string>();
  for (const d of report.dimensions) for (const i of d.indicators) titles.set(i.indicatorId, i.title);
  return titles;
};

const namedIndicator = (id: string, titles: Map<string, string>): string => {
  const title = titles.get(id);
  return title === undefined ? e(id) : `${e(title)}（${e(id)}）`;
};

export const renderReportHtml = (report: CommitteeReport): string => {
  const { committee, cycle } = report;
  const provisional = report.status === 'open';
  const titles = indicatorTitles(report);
  const area = committee.areaName
    ? `${e(committee.areaName)}（${e(committee.areaId)}）`
    : e(committee.areaId);
  const statusText = provisional
    ? '评估进行中 · 临时报告（未定稿）'
    : `已定稿${cycle.finalisedAt ? `（${e(formatDateTime(cycle.finalisedAt))}）` : ''}`;
  const title = `业主委员会法治评估报告 · ${committee.areaName ?? committee.areaId} · ${cycle.year} 年度${provisional ? '（临时）' : ''}`;

  const parts: string[] = [
    '<!doctype html>',
    '<html lang="zh-CN">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    '<h1>业主委员会法治评估报告</h1>',
    '<dl class="meta">',
    `<dt>业主委员会</dt><dd>${e(committee.committeeId)}</dd>`,
    `<dt>业主大会区域</dt><dd>${area}</dd>`,
    committee.compoundId ? `<dt>小区</dt><dd>${e(committee.compoundId)}</dd>` : '',
    `<dt>评估年度</dt><dd>${e(cycle.year)} 年（周期 ${e(cycle.cycleId)}）</dd>`,
    `<dt>指标体系</dt><dd>${e(cycle.systemId)} 第 ${e(cycle.systemVersion)} 版</dd>`,
    `<dt>状态</dt><dd>${statusText}</dd>`,
    `<dt>评估员</dt><dd>${
      report.evaluators.length > 0
        ? report.evaluators
            .map((v) => (v.name ? `${e(v.name)}（${e(v.evaluatorId)}）` : e(v.evaluatorId)))
            .join('、')
        : '<span class="muted">未指派</span>'
    }</dd>`,
    '</dl>',
    provisional
      ? '<p class="banner provisional" role="note">临时报告：本评估周期尚未定稿，分数、等级与整改事项均可能变动，不作为评定结果。</p>'
      : '',
    '</header>',
    '<main>',
    '<section aria-labelledby="score">',
    '<h2 id="score">总分与等级</h2>',
    `<p class="score">总分 <strong>${e(formatPoints(report.scoreHundredths))}</strong> / 100.00 分 · 等级 <strong>${e(gradeLabel(report.grade))}</strong>${provisional ? '（临时）' : ''}</p>`,
    '</section>',
  ];

  if (report.vetoed.length > 0) {
    parts.push(
      '<section class="banner alert" aria-labelledby="vetoes">',
      '<h2 id="vetoes">否决项未通过</h2>',
      '<p>否决项未通过的，不论总分，评估结果为不合格。</p>',
      `<ul>${report.vetoed.map((id) => `<li>${namedIndicator(id, titles)}</li>`).join('')}</ul>`,
      '</section>',
    );
  }

  if (report.disagreements.length > 0) {
    parts.push(
      '<section class="banner alert" aria-labelledby="disagreements">',
      '<h2 id="disagreements">评估员意见分歧，待协调</h2>',
      '<p>以下指标各评估员的评分差异超过阈值，须协调后方可定稿。</p>',
      `<ul>${report.disagreements.map((id) => `<li>${namedIndicator(id, titles)}</li>`).join('')}</ul>`,
      '</section>',
    );
  }

  parts.push('<section aria-labelledby="dimensions">', '<h2 id="dimensions">分项得分</h2>');
  parts.push(...report.dimensions.map(renderDimension));
  parts.push('</section>');

  parts.push('<section aria-labelledby="gaps">', '<h2 id="gaps">问题与整改</h2>');
  if (report.gaps.length > 0) {
    parts.push(
      '<table>',
      '<caption>失分事项及整改建议</caption>',
      '<thead><tr><th scope="col">指标</th><th scope="col" class="num">失分</th><th scope="col">整改建议</th><th scope="col">整改期限</th></tr></thead>',
      '<tbody>',
      ...report.gaps.map(
        (g) =>
          `<tr><td>${e(g.title)}<br><span class="muted">${e(g.indicatorId)}</span></td><td class="num">${e(formatPoints(g.pointsLostHundredths))}</td><td>${g.advice ? e(g.advice) : '<span class="muted">—</span>'}</td><td>${dateCell(g.dueBy)}</td></tr>`,
      ),
      '</tbody>',
      '</table>',
    );
  } else {
    parts.push('<p>无失分事项。</p>');
  }

  if (report.followUps.length > 0) {
    parts.push(
      '<table>',
      '<caption>整改任务</caption>',
      '<thead><tr><th scope="col">任务</th><th scope="col">指标</th><th scope="col">事项</th><th scope="col">期限</th><th scope="col">状态</th></tr></thead>',
      '<tbody>',
      ...report.followUps.map(
        (t) =>
          `<tr><td>${e(t.taskId)}</td><td>${namedIndicator(t.indicatorId, titles)}</td><td>${e(t.title)}</td><td>${dateCell(t.dueBy)}</td><td>${t.status === 'done' ? '已完成' : '<span class="mark">待整改</span>'}</td></tr>`,
      ),
      '</tbody>',
      '</table>',
    );
  } else {
    parts.push('<p>暂无整改任务。</p>');
  }
  parts.push('</section>');

  if (report.comparison) {
    const c = report.comparison;
    parts.push(
      '<section aria-labelledby="comparison">',
      '<h2 id="comparison">与上年度比较</h2>',
      '<table>',
      '<caption>年度比较</caption>',
      '<thead><tr><th scope="col">年度</th><th scope="col" class="num">总分</th><th scope="col">等级</th></tr></thead>',
      '<tbody>',
      `<tr><td>${e(c.previousYear)} 年</td><td class="num">${e(formatPoints(c.previousScoreHundredths))}</td><td>${e(gradeLabel(c.previousGrade))}</td></tr>`,
      `<tr><td>${e(cycle.year)} 年</td><td class="num">${e(formatPoints(report.scoreHundredths))}</td><td>${e(gradeLabel(report.grade))}</td></tr>`,
      '</tbody>',
      '</table>',
      `<p>分数变化 <strong>${e(signedPoints(c.scoreChangeHundredths))}</strong> 分 · 等级${e(GRADE_CHANGE_LABELS[c.gradeChange] ?? c.gradeChange)}</p>`,
      '</section>',
    );
  }

  if (report.residentCases) {
    const rows = Object.entries(report.residentCases.byType);
    parts.push(
      '<section aria-labelledby="cases">',
      '<h2 id="cases">住户守则案件</h2>',
      '<table>',
      '<caption>本区域住户守则案件（劝阻、公示、移交）</caption>',
      '<thead><tr><th scope="col">类别</th><th scope="col" class="num">立案</th><th scope="col" class="num">办理中</th><th scope="col" class="num">已纠正</th><th scope="col" class="num">其中劝阻即纠正</th><th scope="col" class="num">已移交</th><th scope="col" class="num">结案中位天数</th></tr></thead>',
      '<tbody>',
      ...rows.map(
        ([caseType, t]) =>
          `<tr><td>${e(CASE_TYPE_LABELS[caseType] ?? caseType)}</td><td class="num">${e(t.opened)}</td><td class="num">${e(t.open)}</td><td class="num">${e(t.closed)}</td><td class="num">${e(t.closedAtFirstStep)}</td><td class="num">${e(t.referred)}</td><td class="num">${t.medianDaysToClose === null ? '—' : e(t.medianDaysToClose)}</td></tr>`,
      ),
      '</tbody>',
      '</table>',
      '</section>',
    );
  }

  if (report.fund) {
    parts.push(
      '<section aria-labelledby="fund">',
      '<h2 id="fund">自治指导经费</h2>',
      `<p>${e(report.fund.year)} 年度核定指导经费 <strong>${e(formatYuan(report.fund.allocatedFen))}</strong>，用于经批准的自治项目。</p>`,
      '</section>',
    );
  }

  parts.push(
    '</main>',
    `<footer><p>生成时间：${e(formatDateTime(report.generatedAt))}（北京时间）${provisional ? ' · 临时报告（未定稿）' : ''}</p></footer>`,
    '</body>',
    '</html>',
  );
  return `${parts.filter((p) => p !== '').join('\n')}\n`;
};
