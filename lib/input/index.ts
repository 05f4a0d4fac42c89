/** Input devices for a compositor on a real screen: evdev, classified, grabbed, hotplugged, into a SceneSeat. */
export { InputDevices, type InputDevicesOptions, type InputDevicesEvents } from './devices';
export { EvdevDevice, type EvdevDeviceOptions, type EvdevDeviceEvents } from './evdev-device';
export { classify, describeClass, hasBit, type DeviceClass, type DeviceBitmaps } from './classify';
export { PointerAccel, adaptiveFactor, flatFactor, type AccelOptions, type AccelProfile } from './accel';
export { KeyRepeat, type KeyRepeatOptions, type RepeatClock } from './key-repeat';
export { EvdevTranslator, type InputEvent, type DeviceState } from './translate';
export { attachInput, PIXELS_PER_DETENT, type AttachedInput, type PointerArea } from './attach';
export type { AbsInfo, EvdevInfoRaw } from './native-types';
