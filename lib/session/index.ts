export { Session, type SessionListener, type SessionBackend, type SessionOptions, type SessionDevice } from './session';
export { watchUevents, parseUevent, isDrmHotplug, ueventSocketOpen, type Uevent } from './uevent';
