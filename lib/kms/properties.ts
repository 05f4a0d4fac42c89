/**
 * KMS properties by name. Property ids differ per driver and per boot: look them
 * up by name on each object (wlroots and Smithay do the same), never hard-code.
 */
import { BufshareError } from '../errors';
import * as native from '../native';
import type { KmsPropertyRaw } from './native-types';

export type KmsObjectType = 'crtc' | 'connector' | 'plane';

export function objectTypeCode(type: KmsObjectType): number {
  const c = native.constants;
  return type === 'crtc' ? c.DRM_MODE_OBJECT_CRTC : type === 'connector' ? c.DRM_MODE_OBJECT_CONNECTOR : c.DRM_MODE_OBJECT_PLANE;
}

/** DRM_MODE_PROP_* flags we look at. */
export const PROP_ENUM = 8;
export const PROP_BLOB = 16;
export const PROP_BITMASK = 32;

export interface KmsProperty {
  readonly id: number;
  readonly name: string;
  readonly value: bigint;
  readonly info: KmsPropertyRaw;
}

/** The properties of one object, by name, with their current values. */
export class KmsProperties {
  readonly objectId: number;
  readonly objectType: KmsObjectType;
  private readonly byName: Map<string, KmsProperty>;

  constructor(fd: number, objectId: number, objectType: KmsObjectType, cache?: Map<number, KmsPropertyRaw>) {
    this.objectId = objectId;
    this.objectType = objectType;
    const { ids, values } = native.kmsGetProperties(fd, objectId, objectTypeCode(objectType));
    this.byName = new Map();
    ids.forEach((id, i) => {
      let info = cache?.get(id);
      if (!info) {
        info = native.kmsGetProperty(fd, id);
        cache?.set(id, info);
      }
      this.byName.set(info.name, { id, name: info.name, value: values[i]!, info });
    });
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): KmsProperty | undefined {
    return this.byName.get(name);
  }

  /** The property's id; ERR_BUFSHARE_UNSUPPORTED when the object has no such property. */
  id(name: string): number {
    const p = this.byName.get(name);
    if (!p) throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', `KMS ${this.objectType} ${this.objectId} has no property ${name}`);
    return p.id;
  }

  /** The current value of an enum property as its name (e.g. plane "type": "Primary"). */
  enumName(name: string): string | undefined {
    const p = this.byName.get(name);
    return p?.info.enums.find((e) => e.value === p.value)?.name;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
