/**
 * A property area's roster (units and their owners) posted as CSV: parsed, validated and turned into
 * units and owners, all or nothing. Pure: no I/O, no AWS, so the whole import can be tested here and
 * the handler only stores what comes back.
 *
 * Decisions a reader should know:
 * - Line numbers are the file's physical lines, header = line 1; a row whose quoted field spans
 *   several lines is reported at the line where it starts.
 * - Rows whose cells are all blank (including ",,,," left by spreadsheets) are skipped anywhere.
 * - Co-owners of one unit share one row: names separated by `;`, `；` or `、`. The idLast4 and phone
 *   cells are then blank or list one value per owner in the same order (a value may be blank).
 * - An owner is recognised across rows by name + idLast4; without idLast4 by name + phone; without
 *   both by name alone. An owner keeps the first phone (or idLast4) seen for them.
 * - All developer-held units belong to one owner (`<areaId>.developer`, named by the first non-blank
 *   owner cell on a developer-held row, else 开发商): the vote rules count them once.
 * - Error reasons never repeat a cell's personal data; a full ID number is rejected outright.
 */
import { type CsvRecord, type HeaderSpec, isBlankRecord, readCsv, readHeader } from '../shared/csv.js';
import { type Area, areaToHundredths, formatArea, normalizeDigits, parseArea } from '../shared/decimal.js';

export interface RosterRow {
  line: number;
  building: string;
  room: string;
  area: Area;
  ownerName: string;
  idLast4?: string;
  phone?: string;
  developerHeld: boolean;
}
export interface RosterUnit {
  unitId: string;
  building: string;
  room: string;
  area: Area;
  developerHeld: boolean;
  ownerIds: string[];
}
export interface RosterOwner {
  ownerId: string;
  name: string;
  idLast4?: string;
  phone?: string;
  unitIds: string[];
}
export interface RosterError {
  line: number;
  field?: string;
  reason: string;
}
export type RosterResult =
  | { ok: true; units: RosterUnit[]; owners: RosterOwner[]; totalArea: Area }
  | { ok: false; errors: RosterError[] };

export interface RosterOptions {
  areaId: string;
  /** Data rows accepted in one file; default 20000. */
  maxRows?: number;
}

export const DEFAULT_MAX_ROWS = 20_000;
export const MAX_ERRORS = 200;
export const DEVELOPER_NAME = '开发商';
const MAX_NAME_LENGTH = 50;

type Column = 'building' | 'room' | 'area' | 'owner' | 'idLast4' | 'phone' | 'developerHeld';
const REQUIRED: readonly Column[] = ['building', 'room', 'area', 'owner'];
const ALL_COLUMNS: readonly Column[] = [...REQUIRED, 'idLast4', 'phone', 'developerHeld'];

const HEADER_ALIASES: Record<string, Column> = {
  building: 'building',
  楼号: 'building',
  楼栋: 'building',
  room: 'room',
  室号: 'room',
  房号: 'room',
  area: 'area',
  专有面积: 'area',
  面积: 'area',
  owner: 'owner',
  ownername: 'owner',
  业主姓名: 'owner',
  业主: 'owner',
  idlast4: 'idLast4',
  证件号后四位: 'idLast4',
  phone: 'phone',
  手机: 'phone',
  手机号: 'phone',
  developerheld: 'developerHeld',
  开发商持有: 'developerHeld',
};

const BOOLEANS: Record<string, boolean> = {
  true: true,
  false: false,
  是: true,
  否: false,
  '1': true,
  '0': false,
};

// ---------------------------------------------------------------------------------------------------
// Identifiers

const KEEP = /^[\p{L}\p{N}_-]$/u;
const ALL_KEPT = /^[\p{L}\p{N}_-]*$/u;
const URI_UNRESERVED_PUNCTUATION = /^[.!~*'()]$/;

/** Letters, digits, `_` and `-` stay (Chinese included); everything else is percent-encoded, so ids are injective. */
const safeSegment = (text: string): string => {
  if (ALL_KEPT.test(text)) return text;
  let out = '';
  for (const ch of text) {
    if (KEEP.test(ch)) out += ch;
    else if (URI_UNRESERVED_PUNCTUATION.test(ch)) out += `%${ch.charCodeAt(0).toString(16).toUpperCase()}`;
    else {
      try {
        out += encodeURIComponent(ch);
      } catch {
        out += `%u${ch.charCodeAt(0).toString(16).toUpperCase()}`;
      }
    }
  }
  return out;
};

/** Full-width folded, runs of whitespace (line breaks included) collapsed, trimmed. */
const cleanText = (text: string): string => {
  const folded = normalizeDigits(text).trim();
  return INNER_SPACE.test(folded) ? folded.replace(/\s+/g, ' ') : folded;
};
const INNER_SPACE = /\s\s|[^\S ]/;

/**
 * FNV-1a 64-bit of the UTF-8 bytes, as 16 hex digits. It names owners stably; it is not a pseudonym
 * (name + last four digits can be enumerated), so an owner id is as personal as the name it comes from.
 */
export const fnv1a64 = (text: string): string => {
  // 64-bit state in four 16-bit words, low first; the prime is 2^40 + 0x1b3.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  const mix = (byte: number) => {
    h0 ^= byte;
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  };
  // UTF-8 by hand: no encoder allocation per name; a lone surrogate becomes U+FFFD, as TextEncoder does.
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) mix(code);
    else if (code < 0x800) {
      mix(0xc0 | (code >> 6));
      mix(0x80 | (code & 0x3f));
    } else {
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = text.charCodeAt(i + 1);
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else code = 0xfffd;
      }
      if (code < 0x10000) mix(0xe0 | (code >> 12));
      else {
        mix(0xf0 | (code >> 18));
        mix(0x80 | ((code >> 12) & 0x3f));
      }
      mix(0x80 | ((code >> 6) & 0x3f));
      mix(0x80 | (code & 0x3f));
    }
  }
  const hex = (word: number) => word.toString(16).padStart(4, '0');
  return hex(h3) + hex(h2) + hex(h1) + hex(h0);
};

/** A unit's id: `<areaId>.<building>.<room>`, each part folded to half-width and made key- and path-safe. */
export const unitIdOf = (areaId: string, building: string, room: string): string =>
  `${safeSegment(areaId)}.${safeSegment(cleanText(building))}.${safeSegment(cleanText(room))}`;

/**
 * An owner's id, the same for the same person on every row: a digest of the name with idLast4, or with
 * the phone when idLast4 is absent, or of the name alone when both are absent.
 */
export const ownerIdOf = (areaId: string, name: string, idLast4?: string, phone?: string): string => {
  const id = idLast4 ? normalizeDigits(idLast4).trim().toUpperCase() : undefined;
  const tel = phone ? normalizeDigits(phone).replace(/[\s-]/g, '').replace(/^\+86/, '') : undefined;
  return ownerIdOfClean(safeSegment(areaId), areaId, cleanText(name), id, tel);
};

const ownerIdOfClean = (safeArea: string, areaId: string, name: string, idLast4?: string, phone?: string) => {
  const tag = idLast4 ? `id:${idLast4}` : phone ? `tel:${phone}` : '';
  return `${safeArea}.owner-${fnv1a64(`${areaId}\u001f${name}\u001f${tag}`)}`;
};

/** The single owner that stands for all of the developer's unsold or undelivered units. */
export const developerIdOf = (areaId: string): string => `${safeSegment(areaId)}.developer`;

// ---------------------------------------------------------------------------------------------------
// Natural order ("2号楼" before "10号楼", room "901" before "1001")

const CHUNK = /\d+|\D+/g;
const END = '\u0000';
const NUMBER = '\u0001';
const TEXT = '\u0002';

/**
 * A string whose code-unit order is the natural order: each run of digits becomes its length then its
 * digits (so 9 < 10), text runs end with a marker below any character (so "A" < "A1" < "AB").
 * Building and room text never holds control characters, so the markers cannot collide.
 */
const naturalKey = (text: string): string => {
  let key = '';
  for (const chunk of text.match(CHUNK) ?? []) {
    const first = chunk.charCodeAt(0);
    if (first >= 0x30 && first <= 0x39) {
      const digits = chunk.replace(/^0+(?=\d)/, '');
      key += NUMBER + String.fromCharCode(0x30 + digits.length) + digits;
    } else key += TEXT + chunk + END;
  }
  return key;
};

const compareRaw = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------------
// Cells

type Cell<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Counted in characters (code points), not UTF-16 units; the length check first spares the array. */
const tooLong = (value: string): boolean =>
  value.length > MAX_NAME_LENGTH && [...value].length > MAX_NAME_LENGTH;

const SEPARATORS = /[;、]/;

const readPlace = (raw: string, what: 'building' | 'room'): Cell<string> => {
  const value = cleanText(raw);
  if (value === '') return { ok: false, reason: `${what} is empty` };
  if (tooLong(value)) return { ok: false, reason: `${what} is longer than ${MAX_NAME_LENGTH} characters` };
  if (/\p{Cc}/u.test(value)) return { ok: false, reason: `${what} contains control characters` };
  return { ok: true, value };
};

const readName = (raw: string): Cell<string> => {
  const value = cleanText(raw);
  if (value === '') return { ok: false, reason: 'owner name is empty' };
  if (tooLong(value)) return { ok: false, reason: `owner name is longer than ${MAX_NAME_LENGTH} characters` };
  if (/\p{Cc}/u.test(value)) return { ok: false, reason: 'owner name contains control characters' };
  return { ok: true, value };
};

const readIdLast4 = (raw: string): Cell<string | undefined> => {
  const value = normalizeDigits(raw).replace(/\s+/g, '').toUpperCase();
  if (value === '') return { ok: true, value: undefined };
  if (value.length >= 5 && /\d{5,}/.test(value))
    return { ok: false, reason: 'idLast4 holds more than four characters: store only the last four digits' };
  if (!/^\d{3}[\dX]$/.test(value))
    return { ok: false, reason: 'idLast4 must be the last four characters of the ID: digits, X only last' };
  return { ok: true, value };
};

const readPhone = (raw: string): Cell<string | undefined> => {
  let value = normalizeDigits(raw).replace(/[\s-]/g, '');
  if (value === '') return { ok: true, value: undefined };
  if (value.startsWith('+86')) value = value.slice(3);
  if (!/^1[3-9]\d{9}$/.test(value))
    return { ok: false, reason: 'phone must be a mainland mobile number: 11 digits starting with 1' };
  return { ok: true, value };
};

const readDeveloperHeld = (raw: string): Cell<boolean> => {
  const value = cleanText(raw).toLowerCase();
  if (value === '') return { ok: true, value: false };
  const flag = BOOLEANS[value];
  if (flag === undefined) return { ok: false, reason: 'developerHeld must be true/false, 是/否 or 1/0' };
  return { ok: true, value: flag };
};

/** Splits a per-owner list cell; blank means "none for anyone", otherwise one entry per owner. */
const splitPerOwner = (raw: string, owners: number): string[] | undefined => {
  const normalized = normalizeDigits(raw);
  if (normalized.trim() === '') return Array.from({ length: owners }, () => '');
  const parts = owners === 1 ? [normalized] : normalized.split(SEPARATORS);
  return parts.length === owners ? parts : undefined;
};

// ---------------------------------------------------------------------------------------------------
// Roster

interface OwnerRef {
  ownerId: string;
  name: string;
  idLast4?: string;
  phone?: string;
}

interface ValidRow extends RosterRow {
  owners: OwnerRef[];
}

const HEADER: HeaderSpec<Column> = {
  aliases: HEADER_ALIASES,
  required: REQUIRED,
  all: ALL_COLUMNS,
  chineseNames: ['楼号', '室号', '专有面积', '业主姓名', '证件号后四位', '手机号', '开发商持有'],
};

// String.prototype.trim already removes the ideographic space.

interface RowContext {
  areaId: string;
  safeAreaId: string;
  width: number;
  /** Where each column sits in a record, -1 when the header leaves an optional column out. */
  at: Record<Column, number>;
  errors: RosterError[];
  seenUnits: Map<string, number>;
}

const listReason = (what: string, owners: number) =>
  `${what} must be blank or list one value per owner (${owners} owners, separated by ; or 、)`;

/** Validates one data record; pushes its errors and returns the row only when it has none. */
const readRow = (record: CsvRecord, context: RowContext): ValidRow | undefined => {
  const { line, fields } = record;
  const { at, errors } = context;
  const before = errors.length;
  if (record.error) {
    errors.push({ line, reason: record.error });
    return undefined;
  }
  if (fields.length !== context.width) {
    errors.push({ line, reason: `expected ${context.width} fields, found ${fields.length}` });
    return undefined;
  }
  const building = readPlace(cellAt(fields, at.building), 'building');
  if (!building.ok) errors.push({ line, field: 'building', reason: building.reason });
  const room = readPlace(cellAt(fields, at.room), 'room');
  if (!room.ok) errors.push({ line, field: 'room', reason: room.reason });
  if (building.ok && room.ok) {
    const key = `${building.value}\u0000${room.value}`;
    const earlier = context.seenUnits.get(key);
    if (earlier === undefined) context.seenUnits.set(key, line);
    else
      errors.push({
        line,
        field: 'room',
        reason: `building ${building.value} room ${room.value} already appears on line ${earlier}`,
      });
  }
  const area = parseArea(cellAt(fields, at.area));
  if (!area.ok) errors.push({ line, field: 'area', reason: area.reason });
  const developer = readDeveloperHeld(cellAt(fields, at.developerHeld));
  if (!developer.ok) errors.push({ line, field: 'developerHeld', reason: developer.reason });
  const developerHeld = developer.ok && developer.value;
  const ownerCells: OwnerCells = {
    owner: cleanText(cellAt(fields, at.owner)),
    idLast4: cellAt(fields, at.idLast4),
    phone: cellAt(fields, at.phone),
  };
  const owners = developerHeld
    ? readDeveloper(ownerCells, line, context)
    : readOwners(ownerCells, line, context);

  if (errors.length > before || !building.ok || !room.ok || !area.ok || !owners) return undefined;
  const row: ValidRow = {
    line,
    building: building.value,
    room: room.value,
    area: area.value,
    ownerName: owners.length === 1 ? owners[0]!.name : owners.map((owner) => owner.name).join(';'),
    developerHeld,
    owners,
  };
  const single = owners.length === 1 ? owners[0] : undefined;
  if (single?.idLast4) row.idLast4 = single.idLast4;
  if (single?.phone) row.phone = single.phone;
  return row;
};

const cellAt = (fields: string[], index: number): string => (index < 0 ? '' : (fields[index] ?? ''));

interface OwnerCells {
  /** Already folded, trimmed and whitespace-collapsed. */
  owner: string;
  idLast4: string;
  phone: string;
}

/** The developer's row: one owner for every developer-held unit, 开发商 unless the row names it. */
const readDeveloper = (cells: OwnerCells, line: number, context: RowContext): OwnerRef[] | undefined => {
  const { errors } = context;
  const name = cells.owner === '' ? ({ ok: true, value: DEVELOPER_NAME } as const) : readName(cells.owner);
  const idLast4 = readIdLast4(cells.idLast4);
  const phone = readPhone(cells.phone);
  if (!name.ok) errors.push({ line, field: 'owner', reason: name.reason });
  if (!idLast4.ok) errors.push({ line, field: 'idLast4', reason: idLast4.reason });
  if (!phone.ok) errors.push({ line, field: 'phone', reason: phone.reason });
  if (!name.ok || !idLast4.ok || !phone.ok) return undefined;
  return [
    {
      ownerId: `${context.safeAreaId}.developer`,
      name: name.value,
      idLast4: idLast4.value,
      phone: phone.value,
    },
  ];
};

/** One owner, or co-owners separated by ; or 、 with idLast4 and phone listed in the same order. */
const readOwners = (cells: OwnerCells, line: number, context: RowContext): OwnerRef[] | undefined => {
  const { errors } = context;
  if (cells.owner === '') {
    errors.push({ line, field: 'owner', reason: 'owner name is empty' });
    return undefined;
  }
  const names = SEPARATORS.test(cells.owner)
    ? cells.owner.split(SEPARATORS).map(readName)
    : [readName(cells.owner)];
  const count = names.length;
  const badName = names.findIndex((name) => !name.ok);
  const bad = names[badName];
  if (bad && !bad.ok)
    errors.push({
      line,
      field: 'owner',
      reason: count > 1 ? `co-owner ${badName + 1}: ${bad.reason}` : bad.reason,
    });

  const idParts = splitPerOwner(cells.idLast4, count);
  const phoneParts = splitPerOwner(cells.phone, count);
  if (!idParts) errors.push({ line, field: 'idLast4', reason: listReason('idLast4', count) });
  if (!phoneParts) errors.push({ line, field: 'phone', reason: listReason('phone', count) });
  const ids = (idParts ?? []).map(readIdLast4);
  const phones = (phoneParts ?? []).map(readPhone);
  const badId = ids.find((id) => !id.ok);
  if (badId && !badId.ok) errors.push({ line, field: 'idLast4', reason: badId.reason });
  const badPhone = phones.find((phone) => !phone.ok);
  if (badPhone && !badPhone.ok) errors.push({ line, field: 'phone', reason: badPhone.reason });
  if (bad || !idParts || !phoneParts || badId || badPhone) return undefined;

  const owners: OwnerRef[] = [];
  for (let index = 0; index < count; index++) {
    const name = names[index];
    const id = ids[index];
    const phone = phones[index];
    if (!name?.ok || !id?.ok || !phone?.ok) return undefined;
    owners.push({
      ownerId: ownerIdOfClean(context.safeAreaId, context.areaId, name.value, id.value, phone.value),
      name: name.value,
      idLast4: id.value,
      phone: phone.value,
    });
  }
  if (count > 1 && new Set(owners.map((owner) => owner.ownerId)).size !== count) {
    errors.push({ line, field: 'owner', reason: 'the same owner is listed twice for this unit' });
    return undefined;
  }
  return owners;
};

const toResult = (rows: ValidRow[], safeAreaId: string): RosterResult => {
  const sorted = rows
    .map((row) => ({
      row,
      key: `${naturalKey(row.building)}${END}${row.building}${END}${naturalKey(row.room)}${END}${row.room}`,
    }))
    .sort((a, b) => compareRaw(a.key, b.key))
    .map(({ row }) => row);
  const owners = new Map<string, RosterOwner>();
  const units: RosterUnit[] = [];
  let total = 0n;
  for (const row of sorted) {
    // Building and room are already folded and trimmed; only the key-safe encoding is left.
    const unitId = `${safeAreaId}.${safeSegment(row.building)}.${safeSegment(row.room)}`;
    for (const ref of row.owners) {
      const owner = owners.get(ref.ownerId);
      if (!owner) {
        const created: RosterOwner = { ownerId: ref.ownerId, name: ref.name, unitIds: [unitId] };
        if (ref.idLast4) created.idLast4 = ref.idLast4;
        if (ref.phone) created.phone = ref.phone;
        owners.set(ref.ownerId, created);
        continue;
      }
      owner.unitIds.push(unitId);
      if (owner.idLast4 === undefined && ref.idLast4) owner.idLast4 = ref.idLast4;
      if (owner.phone === undefined && ref.phone) owner.phone = ref.phone;
      if (owner.name === DEVELOPER_NAME && ref.name !== DEVELOPER_NAME) owner.name = ref.name;
    }
    total += areaToHundredths(row.area);
    units.push({
      unitId,
      building: row.building,
      room: row.room,
      area: row.area,
      developerHeld: row.developerHeld,
      ownerIds: row.owners.map((owner) => owner.ownerId),
    });
  }
  return { ok: true, units, owners: [...owners.values()], totalArea: formatArea(total) };
};

/**
 * Parses and validates a property area's roster. Either every row is good and the units, owners and
 * exact total area come back in a deterministic order, or nothing does and every failing line is
 * reported (at most 200 errors).
 */
export const parseRoster = (csv: string, opts: RosterOptions): RosterResult => {
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  const records = readCsv(csv).filter((record) => !isBlankRecord(record));
  const [header, ...data] = records;
  if (!header)
    return { ok: false, errors: [{ line: 1, reason: 'the roster is empty; a header row is required' }] };
  const head = readHeader(header, HEADER);
  if (!head.ok) return head;
  if (data.length === 0)
    return { ok: false, errors: [{ line: header.line, reason: 'the roster has a header but no units' }] };
  if (data.length > maxRows)
    return {
      ok: false,
      errors: [
        {
          line: data[maxRows]!.line,
          reason: `the roster has ${data.length} rows; at most ${maxRows} are accepted in one file`,
        },
      ],
    };

  const at = Object.fromEntries(
    ALL_COLUMNS.map((column) => [column, head.columns.indexOf(column)]),
  ) as Record<Column, number>;
  const context: RowContext = {
    areaId: opts.areaId,
    safeAreaId: safeSegment(opts.areaId),
    width: head.columns.length,
    at,
    errors: [],
    seenUnits: new Map(),
  };
  const rows: ValidRow[] = [];
  for (const record of data) {
    const row = readRow(record, context);
    if (row) rows.push(row);
    if (context.errors.length >= MAX_ERRORS) break;
  }
  if (context.errors.length > 0) return { ok: false, errors: context.errors.slice(0, MAX_ERRORS) };
  return toResult(rows, context.safeAreaId);
};
