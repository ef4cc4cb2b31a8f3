/**
 * What the stack tests share: the app's context, a built stack and its template's resources,
 * and the cdk-nag checks (cdk-nag runs as a policy-validation plugin during synthesis and
 * writes its findings to policy-validation-report.json).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GalleryDataStack } from '../lib/stacks/gallery-data-stack';

/** infrastructure/, from dist/test/ where the compiled tests run. */
export const infraDir = path.resolve(__dirname, '..', '..');
/** infrastructure/cdk.json, whose context the tests' apps take. */
export const cdkJson = JSON.parse(fs.readFileSync(path.join(infraDir, 'cdk.json'), 'utf8'));

/** A resource of a synthesised template. */
export type Res = { Type: string; Properties: any; [k: string]: any };

/** A test build: the app, the data stack, the stack under test and its template. */
export interface Built<S extends Stack> {
  app: App;
  data: GalleryDataStack;
  stack: S;
  t: Template;
  res: Record<string, Res>;
}

/**
 * Ends a test build: runs extra on the stack, adds cdk-nag's AwsSolutions to the app when
 * nag is set, and synthesises the stack's template (which runs cdk-nag).
 */
export function finishBuild<S extends Stack>(
  app: App,
  data: GalleryDataStack,
  stack: S,
  opts: { nag?: boolean; extra?: (s: S) => void },
): Built<S> {
  opts.extra?.(stack);
  if (opts.nag) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  const t = Template.fromStack(stack);
  return { app, data, stack, t, res: t.toJSON().Resources };
}

/** The logical id of construct's CloudFormation resource in stack. */
export function logicalIdIn(stack: Stack, construct: any): string {
  return stack.getLogicalId(construct.node.defaultChild);
}

/** The one resource of type in res (fails unless there is exactly one). */
export function onlyOne(res: Record<string, Res>, type: string): [string, Res] {
  const all = Object.entries(res).filter(([, r]) => r.Type === type);
  assert.equal(all.length, 1, `exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** The report of a build that must fail cdk-nag. Template.fromStack synthesises the app,
 * so the finding surfaces inside build(). */
export function nagFailureReport(build: () => unknown): string {
  let message = '';
  try {
    build();
  } catch (e) {
    message = String((e as Error).message);
  }
  assert.match(message, /Validation failed/);
  return fs.readFileSync(message.replace(/^.*found in: /s, '').trim(), 'utf8');
}

/** The app synthesises with no cdk-nag failure in its report. */
export function assertNagPasses(app: App): void {
  const asm = app.synth();
  const report = path.join(asm.directory, 'policy-validation-report.json');
  if (fs.existsSync(report)) {
    const text = fs.readFileSync(report, 'utf8');
    assert.doesNotMatch(text, /"status":\s*"failure"/, text.slice(0, 4000));
  }
}

/** Whether an S3 lifecycle rule's filter (Prefix, TagFilters, object size) selects an
 * object, as S3 applies it: every condition must hold; a rule without one selects all. */
export function lifecycleRuleSelects(rule: any, key: string, tags: Record<string, string>, size = 1000): boolean {
  return (
    key.startsWith(rule.Prefix ?? '') &&
    (rule.TagFilters ?? []).every((f: any) => tags[f.Key] === f.Value) &&
    (rule.ObjectSizeGreaterThan === undefined || size > Number(rule.ObjectSizeGreaterThan)) &&
    (rule.ObjectSizeLessThan === undefined || size < Number(rule.ObjectSizeLessThan))
  );
}

/** The tag the service puts on rendered variants: ENL_VARIANT_TAG in include/enlarger/keys.h. */
export function serviceVariantTag(): Record<string, string> {
  const header = fs.readFileSync(path.join(infraDir, '..', 'include', 'enlarger', 'keys.h'), 'utf8');
  const m = /#define ENL_VARIANT_TAG "([^"=]+)=([^"]*)"/.exec(header);
  assert.ok(m, 'ENL_VARIANT_TAG in include/enlarger/keys.h');
  return { [m[1]]: m[2] };
}

/**
 * The render bucket's lifecycle: rendered variants (tagged by the service) expire after
 * `days`; untagged objects (each version's mezzanine) are never expired; incomplete uploads
 * of any object are aborted after a day; no rule pairs a tag filter with what S3 refuses
 * beside one (AbortIncompleteMultipartUpload, ExpiredObjectDeleteMarker).
 */
export function assertRenderLifecycle(bucket: Res, days: number): void {
  const rules: any[] = bucket.Properties.LifecycleConfiguration.Rules;
  const tag = serviceVariantTag();
  const expire = rules.find((r) => r.Id === 'expire-rendered-variants');
  assert.ok(expire, 'the expire-rendered-variants rule');
  assert.equal(expire.Status, 'Enabled');
  assert.equal(expire.ExpirationInDays, days);
  assert.deepEqual(expire.TagFilters, Object.entries(tag).map(([Key, Value]) => ({ Key, Value })));
  for (const r of rules.filter((x) => x.TagFilters)) {
    assert.equal(r.AbortIncompleteMultipartUpload, undefined, `${r.Id}: S3 refuses it with a tag filter`);
    assert.equal(r.ExpiredObjectDeleteMarker, undefined, `${r.Id}: S3 refuses it with a tag filter`);
  }
  const prefix = 'c0ffee'.repeat(10) + 'c0ff/0123abcd/';
  const expiring = (key: string, tags: Record<string, string>) =>
    rules.filter((r) => r.Status === 'Enabled' && (r.ExpirationInDays !== undefined || r.ExpirationDate !== undefined))
      .filter((r) => lifecycleRuleSelects(r, key, tags))
      .map((r) => r.ExpirationInDays);
  assert.deepEqual(expiring(prefix + 'w640-h0-inside-q80.webp', tag), [days], 'a tagged variant expires');
  assert.deepEqual(expiring(prefix + 'mezzanine.jpg', {}), [], 'an untagged mezzanine never expires');
  assert.deepEqual(expiring(prefix + 'w640-h0-inside-q80.webp', {}), [], 'nor does a variant cached untagged');
  assert.deepEqual(expiring(prefix + 'mezzanine.jpg', { 'enlarger-cache': 'mezzanine' }), [], 'another value of the key');
  const abort = rules.filter((r) => r.Status === 'Enabled' && r.AbortIncompleteMultipartUpload);
  assert.ok(abort.some((r) => r.AbortIncompleteMultipartUpload.DaysAfterInitiation === 1 && lifecycleRuleSelects(r, prefix + 'mezzanine.jpg', {})),
    'incomplete uploads of any object are aborted after a day');
}
