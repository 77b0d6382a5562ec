/**
 * The data model's rules for a DTC record, checked by every import (`--validate` and a real import
 * alike): the code's form, the required description, and the category and severity enums.
 *
 * A code is a letter (P powertrain, B body, C chassis, U network) and four upper-case hex digits — the
 * application's own rule (`^[PBCU][0-9A-F]{4}$`). The second character is not limited to SAE's 0–3:
 * real AutoCognitix data holds codes such as `P93AF`, `PACED`, `PEACE`, `UA80E` and `UA80F`, and a
 * database must import its own export. Optionally followed by `-` and a two-hex-digit failure-type
 * byte (ISO 15031-6 / SAE J2012 "DTC + FTB", e.g. `P0420-1B`): the generator writes that UDS form and
 * `code` is varchar(10), so it stays accepted (docs/design.md §9). Refused: lower case, another
 * letter, another length, a character that is not a hex digit, a malformed suffix.
 */

export const DTC_CODE = /^[PBCU][0-9A-F]{4}(?:-[0-9A-F]{2})?$/;
export const DTC_CATEGORIES = ['powertrain', 'body', 'chassis', 'network'] as const;
export const DTC_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const CATEGORY_OF_LETTER: Record<string, string> = { P: 'powertrain', B: 'body', C: 'chassis', U: 'network' };

export interface FieldProblem {
  field: string;
  reason: string;
}

/** Why a DTC code is not one (null when it is). */
export function dtcCodeProblem(code: unknown): string | null {
  if (code === null || code === undefined || code === '') return 'is required';
  if (typeof code !== 'string') return `must be text, got ${typeof code}`;
  if (DTC_CODE.test(code)) return null;
  if (DTC_CODE.test(code.toUpperCase())) return `"${code}" must be upper case`;
  if (!/^[PBCU]/i.test(code)) return `"${code}" must start with P, B, C or U`;
  if (/^[PBCU][0-9A-F]{4}-/i.test(code)) return `"${code}": the suffix must be two hex digits`;
  return `"${code}" is not a DTC code (a letter P/B/C/U and four hex digits, e.g. P0420 or P93AF)`;
}

/** Problems of a DTC record's fields that the input carries (absent fields are not checked here). */
export function dtcRecordProblems(
  values: Record<string, unknown>,
  carried: ReadonlySet<string>,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const code = values.code;
  const codeProblem = dtcCodeProblem(code);
  if (codeProblem) problems.push({ field: 'code', reason: `code ${codeProblem}` });
  if (carried.has('description_en') && (values.description_en === null || values.description_en === ''))
    problems.push({ field: 'description_en', reason: 'description_en is required' });
  const category = values.category;
  if (carried.has('category') && category !== null && category !== undefined) {
    if (!(DTC_CATEGORIES as readonly unknown[]).includes(category))
      problems.push({
        field: 'category',
        reason: `category "${String(category)}" is not one of ${DTC_CATEGORIES.join(', ')}`,
      });
    else if (typeof code === 'string' && !codeProblem && CATEGORY_OF_LETTER[code[0] ?? ''] !== category)
      problems.push({
        field: 'category',
        reason: `category "${String(category)}" does not match code ${code} (${CATEGORY_OF_LETTER[code[0] ?? '']})`,
      });
  }
  const severity = values.severity;
  if (carried.has('severity') && severity !== null && severity !== undefined)
    if (!(DTC_SEVERITIES as readonly unknown[]).includes(severity))
      problems.push({
        field: 'severity',
        reason: `severity "${String(severity)}" is not one of ${DTC_SEVERITIES.join(', ')}`,
      });
  return problems;
}
