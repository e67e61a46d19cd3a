/**
 * BuildKit's frontend/dockerfile/dockerfile_test.go also holds TestIntegration, the Go test that
 * runs every test function above in BuildKit's sandboxes (workers, frontends, security modes).
 */
import { describe, it } from 'vitest';

describe('BuildKit test runner (dockerfile_test.go)', () => {
  it.skip('TestIntegration — the Go runner of the other tests (its test functions are ported one by one)', () => {});
});
