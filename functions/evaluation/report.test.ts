import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CommitteeReport,
  escapeHtml,
  formatDate,
  formatDateTime,
  formatPoints,
  formatYuan,
  GRADE_LABELS,
  renderReportHtml,
} from './report.js';

const fullReport = (): CommitteeReport => ({
  committee: {
    committeeId: 'cmt-0042',
    areaId: 'area-7',
    areaName: '半淞园路 7 号区域',
    compoundId: 'cpd-3',
  },
  cycle: { cycleId: 'cycle-2025', year: 2025, systemId: 'sh-default', systemVersion: 2 },
  status: 'finalised',
  scoreHundredths: 8750,
  grade: '4-star',
  evaluators: [{ evaluatorId: 'ev-1', name: '王律师' }, { evaluatorId: 'ev-2' }],
  dimensions: [
    {
      dimensionId: 'meetings',
      title: '会议规范',
      indicators: [
        {
          indicatorId: 'meet-bimonthly',
          title: '至少每两个月召开一次会议',
          weight: 10,
          fraction: 1,
          pointsHundredths: 1000,
          computed: true,
          veto: false,
          vetoFailed: false,
          disagreement: false,
          evidence: ['meeting:m-1', 'meeting:m-2'],
        },
        {
          indicatorId: 'meet-notice',
          title: '会议提前三日公告',
          weight: 5,
          fraction: 0.5,
          pointsHundredths: 250,
          computed: false,
          veto: false,
          vetoFailed: false,
          disagreement: true,
          evidence: [],
        },
      ],
    },
    {
      dimensionId: 'disclosure',
      title: '信息公开',
      indicators: [
        {
          indicatorId: 'fund-disclosure',
          title: '维修资金每半年公布',
          weight: 10,
          fraction: 0.75,
          pointsHundredths: 750,
          computed: true,
          veto: true,
          vetoFailed: false,
          disagreement: false,
          evidence: ['disclosure:d-9'],
        },
      ],
    },
  ],
  vetoed: [],
  disagreements: [],
  gaps: [
    {
      indicatorId: 'meet-notice',
      title: '会议公告未满三日',
      pointsLostHundredths: 250,
      advice: '会议通知应提前三日张贴',
      dueBy: '2026-03-31',
    },
    {
      indicatorId: 'fund-disclosure',
      title: '维修资金公布缺一期',
      pointsLostHundredths: 250,
      dueBy: '2026-06-29T16:00:00.000Z',
    },
  ],
  followUps: [
    {
      taskId: 'task-1',
      indicatorId: 'meet-notice',
      title: '补张贴会议公告',
      dueBy: '2026-03-31',
      status: 'open',
    },
    {
      taskId: 'task-2',
      indicatorId: 'fund-disclosure',
      title: '补公布维修资金',
      dueBy: '2026-06-30',
      status: 'done',
    },
  ],
  comparison: {
    previousYear: 2024,
    previousScoreHundredths: 8200,
    previousGrade: '4-star',
    scoreChangeHundredths: 550,
    gradeChange: 'same',
  },
  fund: { year: 2025, allocatedFen: 2_000_000 },
  generatedAt: '2025-12-31T16:30:00.000Z',
});

const ALLOWED_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'header',
  'main',
  'footer',
  'section',
  'h1',
  'h2',
  'dl',
  'dt',
  'dd',
  'p',
  'strong',
  'span',
  'br',
  'ul',
  'li',
  'table',
  'caption',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'time',
]);
const ALLOWED_ATTRIBUTES = new Set([
  'lang',
  'charset',
  'name',
  'content',
  'class',
  'role',
  'id',
  'aria-labelledby',
  'scope',
  'colspan',
  'datetime',
]);
const TAG = /<!doctype html>|<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*>/g;
const ATTRIBUTE = /\s+([a-z-]+)="[^"<>]*"/g;

/**
 * A simple check of the markup: outside the one static <style>, every `<` opens a known tag with
 * known, double-quoted attributes, and the text between tags holds no `<`, `>`, quote or bare `&`.
 * Returns what it found wrong (empty when the page is clean).
 */
const markupProblems = (html: string): string[] => {
  const problems: string[] = [];
  const styles = html.match(/<style>[^<]*<\/style>/g) ?? [];
  if (styles.length !== 1) problems.push(`expected one <style> without markup, found ${styles.length}`);
  const withoutStyle = html.replace(/<style>[^<]*<\/style>/, '');
  const text = withoutStyle.replace(TAG, (_tag, _slash: string, name: string | undefined, attrs: string) => {
    if (name !== undefined && !ALLOWED_TAGS.has(name)) problems.push(`tag <${name}>`);
    for (const [, attr] of (attrs ?? '').matchAll(ATTRIBUTE)) {
      if (!ALLOWED_ATTRIBUTES.has(attr!)) problems.push(`attribute ${attr}`);
    }
    return '';
  });
  for (const ch of ['<', '>', '"', "'"]) {
    if (text.includes(ch)) problems.push(`unescaped ${ch} in text`);
  }
  if (/&(?!(?:amp|lt|gt|quot|#39);)/.test(text)) problems.push('bare & in text');
  return problems;
};

const sectionIds = (html: string): string[] =>
  [...html.matchAll(/<section[^>]*aria-labelledby="([a-z]+)"/g)].map((m) => m[1]!);

describe('renderReportHtml: a full report', () => {
  const html = renderReportHtml(fullReport());

  it('is a complete, self-contained printable document', () => {
    expect(html.startsWith('<!doctype html>\n<html lang="zh-CN">')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toMatch(/<title>[^<]*业主委员会法治评估报告[^<]*<\/title>/);
    expect(html).toMatch(/<style>[^<]*@media print[^<]*<\/style>/);
    expect(html).toContain('@page { size: A4;');
    expect(html).toContain('break-inside: avoid');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html.toLowerCase()).not.toContain('<script');
    expect(html).not.toMatch(/<link|<img|<iframe|\bsrc=|\bhref=|https?:|url\(|@import/i);
    expect(markupProblems(html)).toEqual([]);
  });

  it('has the header: committee, area, year, indicator system and version, status', () => {
    expect(html).toContain('<h1>业主委员会法治评估报告</h1>');
    expect(html).toContain('cmt-0042');
    expect(html).toContain('半淞园路 7 号区域（area-7）');
    expect(html).toContain('cpd-3');
    expect(html).toContain('2025 年');
    expect(html).toContain('sh-default 第 2 版');
    expect(html).toContain('已定稿');
    expect(html).toContain('王律师（ev-1）');
    expect(html).toContain('ev-2');
    expect(html).not.toContain('临时');
    expect(html).not.toContain('未定稿');
  });

  it('shows the total score and the grade', () => {
    expect(html).toContain('<strong>87.50</strong>');
    expect(html).toContain(`<strong>${GRADE_LABELS['4-star']}</strong>`);
  });

  it('has one captioned table per dimension with every indicator, its weight, points, source, veto and evidence', () => {
    expect(html.match(/<caption>[^<]*（(meetings|disclosure)）/g)).toHaveLength(2);
    expect(html).toContain('<caption>会议规范（meetings）：12.50 / 15 分</caption>');
    expect(html).toContain('<th scope="col">指标</th>');
    expect(html).not.toMatch(/<th(?=[\s>])(?![^>]*scope="col")/);
    for (const title of ['至少每两个月召开一次会议', '会议提前三日公告', '维修资金每半年公布']) {
      expect(html).toContain(title);
    }
    expect(html).toContain('<td class="num">10.00</td>');
    expect(html).toContain('<td class="num">2.50</td>');
    expect(html).toContain('<td class="num">75%</td>');
    expect(html).toContain('系统计算');
    expect(html).toContain('评估员录入');
    expect(html).toContain('<td>否决项</td>');
    expect(html).toContain('分歧待协调');
    expect(html).toContain('<li>meeting:m-1</li><li>meeting:m-2</li>');
    expect(html).toContain('<li>disclosure:d-9</li>');
  });

  it('lists every gap with its advice and due date (in Asia/Shanghai), and the follow-ups with their status', () => {
    expect(html).toContain('<h2 id="gaps">问题与整改</h2>');
    expect(html).toContain('会议公告未满三日');
    expect(html).toContain('会议通知应提前三日张贴');
    expect(html).toContain('<time datetime="2026-03-31">2026-03-31</time>');
    expect(html).toContain('维修资金公布缺一期');
    // 2026-06-29T16:00Z is midnight on 30 June in Shanghai.
    expect(html).toContain('<time datetime="2026-06-30">2026-06-30</time>');
    expect(html).toContain('task-1');
    expect(html).toContain('补张贴会议公告');
    expect(html).toContain('待整改');
    expect(html).toContain('task-2');
    expect(html).toContain('补公布维修资金');
    expect(html).toContain('已完成');
  });

  it('shows the year-over-year comparison, the fund and the generation time', () => {
    expect(sectionIds(html)).toContain('comparison');
    expect(html).toContain('2024 年');
    expect(html).toContain('<td class="num">82.00</td>');
    expect(html).toContain('<strong>+5.50</strong>');
    expect(html).toContain('等级持平');
    expect(html).toContain('<strong>¥20,000.00</strong>');
    // 16:30 UTC on 31 December is 00:30 on 1 January in Shanghai.
    expect(html).toContain('生成时间：2026-01-01 00:30（北京时间）');
  });

  it('has no vetoes or disagreements section when there are none', () => {
    expect(sectionIds(html)).not.toContain('vetoes');
    expect(sectionIds(html)).not.toContain('disagreements');
    expect(html).not.toContain('否决项未通过');
    expect(html).not.toContain('意见分歧');
  });
});

describe('renderReportHtml: variants', () => {
  it("shows the area's resident-code cases by type, and no such section without them", () => {
    const counts = (opened: number, closed: number, referred: number, median: number | null) => ({
      opened,
      open: opened - closed - referred,
      closed,
      referred,
      closedAtFirstStep: closed,
      medianDaysToClose: median,
    });
    const html = renderReportHtml({
      ...fullReport(),
      residentCases: {
        total: 6,
        byType: {
          'corridor-clutter': counts(3, 2, 1, 4.5),
          'garbage-sorting': counts(0, 0, 0, null),
          'fee-arrears': counts(3, 1, 1, 30),
        },
      },
    });
    expect(sectionIds(html)).toContain('cases');
    expect(markupProblems(html)).toEqual([]);
    const row = (label: string) => html.match(new RegExp(`<tr><td>${label}</td>(.*?)</tr>`))?.[1] ?? '';
    expect(
      row('楼道堆物')
        .match(/>([^<]*)</g)
        ?.map((cell) => cell.slice(1, -1))
        .filter((cell) => cell !== ''),
    ).toEqual(['3', '0', '2', '2', '1', '4.5']);
    expect(row('垃圾分类')).toContain('—');
    expect(row('物业费欠缴')).toContain('>30<');
    expect(sectionIds(renderReportHtml(fullReport()))).not.toContain('cases');
  });

  it('marks an open cycle as provisional (临时, 未定稿) in the title, header, score and footer', () => {
    const html = renderReportHtml({ ...fullReport(), status: 'open' });
    expect(html).toMatch(/<title>[^<]*（临时）<\/title>/);
    expect(html).toContain('临时报告（未定稿）');
    expect(html).toContain('class="banner provisional"');
    expect(html).toMatch(/<p class="score">[^\n]*（临时）<\/p>/);
    expect(html).toMatch(/<footer>[^\n]*临时报告（未定稿）/);
    expect(markupProblems(html)).toEqual([]);
  });

  it('shows a finalised cycle with its finalisation time', () => {
    const report = fullReport();
    report.cycle.finalisedAt = '2026-01-10T02:00:00Z';
    expect(renderReportHtml(report)).toContain('已定稿（2026-01-10 10:00）');
  });

  it('shows vetoes prominently, before the tables, naming the indicator', () => {
    const report = fullReport();
    report.grade = 'fail';
    report.vetoed = ['fund-disclosure'];
    report.dimensions[1]!.indicators[0]!.vetoFailed = true;
    const html = renderReportHtml(report);
    expect(sectionIds(html)).toContain('vetoes');
    expect(html).toContain('<section class="banner alert" aria-labelledby="vetoes">');
    expect(html).toContain('<li>维修资金每半年公布（fund-disclosure）</li>');
    expect(html).toContain('否决项 · 未通过');
    expect(html.indexOf('id="vetoes"')).toBeLessThan(html.indexOf('id="dimensions"'));
    expect(html).toContain(`<strong>${GRADE_LABELS.fail}</strong>`);
    expect(markupProblems(html)).toEqual([]);
  });

  it('shows disagreements still to reconcile prominently; an id without a known indicator is shown as it is', () => {
    const report = fullReport();
    report.status = 'open';
    report.disagreements = ['meet-notice', 'ghost-indicator'];
    const html = renderReportHtml(report);
    expect(sectionIds(html)).toContain('disagreements');
    expect(html).toContain('<li>会议提前三日公告（meet-notice）</li><li>ghost-indicator</li>');
    expect(html.indexOf('id="disagreements"')).toBeLessThan(html.indexOf('id="dimensions"'));
    expect(markupProblems(html)).toEqual([]);
  });

  it('leaves out the comparison and the fund when absent, and says so when there are no gaps or tasks', () => {
    const report = fullReport();
    delete report.comparison;
    delete report.fund;
    report.gaps = [];
    report.followUps = [];
    report.evaluators = [];
    report.committee = { committeeId: 'cmt-1', areaId: 'area-1' };
    const html = renderReportHtml(report);
    expect(sectionIds(html)).not.toContain('comparison');
    expect(sectionIds(html)).not.toContain('fund');
    expect(sectionIds(html)).toContain('gaps');
    expect(html).toContain('无失分事项');
    expect(html).toContain('暂无整改任务');
    expect(html).toContain('未指派');
    expect(html).toContain('<dd>area-1</dd>');
    expect(html).not.toContain('<dt>小区</dt>');
    expect(markupProblems(html)).toEqual([]);
  });

  it('labels a first evaluation and a falling score', () => {
    const report = fullReport();
    report.comparison = {
      previousYear: 2024,
      previousScoreHundredths: 9100,
      previousGrade: '5-star',
      scoreChangeHundredths: -350,
      gradeChange: 'down',
    };
    const html = renderReportHtml(report);
    expect(html).toContain('<strong>-3.50</strong>');
    expect(html).toContain('等级下降');
    expect(html).toContain(GRADE_LABELS['5-star']);
    report.comparison.gradeChange = 'new';
    expect(renderReportHtml(report)).toContain('等级首次评估');
  });

  it('renders a dimension without indicators', () => {
    const report = fullReport();
    report.dimensions.push({ dimensionId: 'empty', title: '空维度', indicators: [] });
    const html = renderReportHtml(report);
    expect(html).toContain('<caption>空维度（empty）：0.00 / 0 分</caption>');
    expect(html).toContain('本维度无指标');
  });
});

/** Strings dense in the characters that matter (& < > " ', entities) among arbitrary code points. */
const specialText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('&', '<', '>', '"', "'", '&amp;', '&lt;', '&#39;'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
});

describe('escapeHtml', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['" onmouseover="x', '&quot; onmouseover=&quot;x'],
    ["' onfocus='x", '&#39; onfocus=&#39;x'],
    ['a & b &amp; c', 'a &amp; b &amp;amp; c'],
    ['半淞园', '半淞园'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  it('leaves none of & < > " \' unescaped, and unescaping gives the input back (property)', () => {
    fc.assert(
      fc.property(specialText, (s) => {
        const escaped = escapeHtml(s);
        expect(escaped).not.toMatch(/[<>"']/);
        expect(escaped).not.toMatch(/&(?!(?:amp|lt|gt|quot|#39);)/);
        const unescaped = escaped
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&amp;/g, '&');
        expect(unescaped).toBe(s);
      }),
    );
  });
});

const HOSTILE = [
  '<script>alert(1)</script>',
  '" onmouseover="x',
  "'><img src=x onerror=alert(1)>",
  '</style><script>',
];

/** Every string field of a report set to `value` (ids, titles, names, evidence, advice, dates). */
const reportWithEveryText = (value: (field: string) => string): CommitteeReport => {
  const v = value;
  return {
    committee: {
      committeeId: v('committeeId'),
      areaId: v('areaId'),
      areaName: v('areaName'),
      compoundId: v('compoundId'),
    },
    cycle: {
      cycleId: v('cycleId'),
      year: 2025,
      systemId: v('systemId'),
      systemVersion: 1,
      finalisedAt: v('finalisedAt'),
    },
    status: 'finalised',
    scoreHundredths: 5000,
    grade: 'fail',
    evaluators: [{ evaluatorId: v('evaluatorId'), name: v('evaluatorName') }],
    dimensions: [
      {
        dimensionId: v('dimensionId'),
        title: v('dimensionTitle'),
        indicators: [
          {
            indicatorId: v('indicatorId'),
            title: v('indicatorTitle'),
            weight: 10,
            fraction: 0.5,
            pointsHundredths: 500,
            computed: false,
            veto: true,
            vetoFailed: true,
            disagreement: true,
            evidence: [v('evidence1'), v('evidence2')],
          },
        ],
      },
    ],
    vetoed: [v('vetoed'), v('indicatorId')],
    disagreements: [v('disagreement'), v('indicatorId')],
    gaps: [
      {
        indicatorId: v('gapIndicatorId'),
        title: v('gapTitle'),
        pointsLostHundredths: 500,
        advice: v('advice'),
        dueBy: v('gapDueBy'),
      },
    ],
    followUps: [
      {
        taskId: v('taskId'),
        indicatorId: v('followUpIndicatorId'),
        title: v('followUpTitle'),
        dueBy: v('followUpDueBy'),
        status: 'open',
      },
    ],
    comparison: {
      previousYear: 2024,
      previousScoreHundredths: 6000,
      previousGrade: v('previousGrade'),
      scoreChangeHundredths: -1000,
      gradeChange: 'down',
    },
    fund: { year: 2025, allocatedFen: 0 },
    generatedAt: v('generatedAt'),
  };
};

describe('renderReportHtml: escaping', () => {
  it.each(HOSTILE)('never lets %j through unescaped, in any text field', (hostile) => {
    const html = renderReportHtml(reportWithEveryText((field) => `${field}:${hostile}`));
    expect(html.toLowerCase()).not.toContain('<script');
    expect(html).not.toContain(hostile);
    expect(html).not.toContain('onmouseover="');
    expect(html).not.toContain('<img');
    expect(markupProblems(html)).toEqual([]);
    // Each field's value is on the page, escaped.
    for (const field of [
      'committeeId',
      'areaName',
      'indicatorTitle',
      'evidence2',
      'advice',
      'previousGrade',
    ]) {
      expect(html).toContain(escapeHtml(`${field}:${hostile}`));
    }
  });

  const fragment = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('<', '>', '"', "'", '&', '<script', '<SCRIPT', '</style>', '<!--', '-->', '&lt;', ' on'),
  );
  const hostileText = fc.array(fragment, { maxLength: 6 }).map((parts) => parts.join(''));

  it('keeps arbitrary strings in titles, evidence, advice and names escaped (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          dimensionTitle: hostileText,
          indicatorTitle: hostileText,
          evidence: fc.array(hostileText, { maxLength: 4 }),
          advice: hostileText,
          gapTitle: hostileText,
          followUpTitle: hostileText,
          name: hostileText,
          areaName: hostileText,
          dueBy: hostileText,
        }),
        (t) => {
          const report = fullReport();
          report.status = 'open';
          report.committee.areaName = t.areaName;
          report.evaluators[0]!.name = t.name;
          report.dimensions[0]!.title = t.dimensionTitle;
          report.dimensions[0]!.indicators[0]!.title = t.indicatorTitle;
          report.dimensions[0]!.indicators[0]!.evidence = t.evidence;
          report.gaps[0]!.title = t.gapTitle;
          report.gaps[0]!.advice = t.advice;
          report.gaps[0]!.dueBy = t.dueBy;
          report.followUps[0]!.title = t.followUpTitle;
          report.disagreements = ['meet-bimonthly'];
          const html = renderReportHtml(report);
          expect(html.toLowerCase()).not.toContain('<script');
          expect(markupProblems(html)).toEqual([]);
          expect(html).toContain(escapeHtml(t.indicatorTitle));
          for (const ref of t.evidence) expect(html).toContain(`<li>${escapeHtml(ref)}</li>`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('formatPoints', () => {
  it.each([
    [0, '0.00'],
    [1, '0.01'],
    [99, '0.99'],
    [100, '1.00'],
    [8750, '87.50'],
    [10000, '100.00'],
    [-1, '-0.01'],
    [-150, '-1.50'],
    [12345678901, '123456789.01'],
  ])('%d → %s', (hundredths, expected) => {
    expect(formatPoints(hundredths)).toBe(expected);
  });

  it('refuses what is not whole hundredths', () => {
    expect(() => formatPoints(1.5)).toThrow(RangeError);
    expect(() => formatPoints(Number.NaN)).toThrow(RangeError);
    expect(() => formatPoints(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

/** The expected "yuan.jiao-fen" text, by integer arithmetic only. */
const exactYuan = (fen: bigint): string => {
  const abs = fen < 0n ? -fen : fen;
  return `${fen < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
};

describe('formatYuan', () => {
  it.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [99, '¥0.99'],
    [100, '¥1.00'],
    [100000, '¥1,000.00'],
    [2_000_000, '¥20,000.00'],
    [12345678901, '¥123,456,789.01'],
    [-150, '-¥1.50'],
    [-12345678901, '-¥123,456,789.01'],
    [Number.MAX_SAFE_INTEGER, '¥90,071,992,547,409.91'],
  ])('%d fen → %s', (fen, expected) => {
    expect(formatYuan(fen)).toBe(expected);
  });

  it('is exact for bigint fen beyond the safe integers', () => {
    expect(formatYuan(10n ** 20n + 5n)).toBe('¥1,000,000,000,000,000,000.05');
  });

  it('refuses what is not whole fen', () => {
    expect(() => formatYuan(0.5)).toThrow(RangeError);
    expect(() => formatYuan(Number.NaN)).toThrow(RangeError);
  });

  it('without the commas and ¥ is fen / 100 to two places, by integer arithmetic (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1_000_000, max: 1_000_000 })), (fen) => {
        const text = formatYuan(fen);
        expect(text).toMatch(/^-?¥\d{1,3}(,\d{3})*\.\d{2}$/);
        expect(text.replace(/[,¥]/g, '')).toBe(exactYuan(BigInt(fen)));
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (fen) => {
        expect(formatYuan(fen).replace(/[,¥]/g, '')).toBe(exactYuan(fen));
      }),
    );
  });

  it('agrees with (fen / 100).toFixed(2) where floating point is still exact enough (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 }), (fen) => {
        expect(formatYuan(fen).replace(/[,¥]/g, '')).toBe((fen / 100).toFixed(2));
      }),
    );
  });
});

describe('dates in Asia/Shanghai', () => {
  it.each([
    ['2025-12-31T16:30:00Z', '2026-01-01', '2026-01-01 00:30'],
    ['2025-12-31T15:59:00Z', '2025-12-31', '2025-12-31 23:59'],
    ['2026-03-31T08:00:00+08:00', '2026-03-31', '2026-03-31 08:00'],
    ['2026-03-31', '2026-03-31', '2026-03-31'],
    ['not a date', 'not a date', 'not a date'],
  ])('%s → %s / %s', (value, date, dateTime) => {
    expect(formatDate(value)).toBe(date);
    expect(formatDateTime(value)).toBe(dateTime);
  });
});

describe('GRADE_LABELS', () => {
  it('names each grade', () => {
    expect(GRADE_LABELS).toEqual({
      '5-star': '五星 ★★★★★',
      '4-star': '四星 ★★★★',
      '3-star': '三星 ★★★',
      pass: '合格',
      fail: '不合格',
    });
  });
});

const hasChromium = spawnSync('which', ['chromium'], { encoding: 'utf8' }).status === 0;

describe('in a browser', () => {
  it.skipIf(!hasChromium)('parses in headless chromium with every table and section', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-'));
    try {
      const file = join(dir, 'report.html');
      const report = fullReport();
      report.vetoed = ['fund-disclosure'];
      report.disagreements = ['meet-notice'];
      writeFileSync(file, renderReportHtml(report));
      const dom = execFileSync(
        'chromium',
        ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', pathToFileURL(file).href],
        { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      expect(dom).toContain('cmt-0042');
      expect(dom.match(/<table>/g)).toHaveLength(5);
      expect(dom.match(/<caption>/g)).toHaveLength(5);
      expect(dom).toContain('id="vetoes"');
      expect(dom).toContain('id="disagreements"');
      expect(dom.toLowerCase()).not.toContain('<script');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
