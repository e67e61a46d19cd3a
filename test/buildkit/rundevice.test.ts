/**
 * BuildKit's frontend/dockerfile/dockerfile_rundevice_test.go: `RUN --device` (CDI devices, named
 * by the CDI specs the daemon loads). tsbuild's RUN takes --mount, --network and --security only.
 */
import { describe, it } from 'vitest';

describe('BuildKit RUN --device (dockerfile_rundevice_test.go)', () => {
  it.skip('testDeviceRunEnv — tsbuild has no RUN --device (CDI devices and their specs)', () => {});
});
