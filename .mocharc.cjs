// Unit and integration tests run on the host; the driver suite (test/drivers)
// runs through `npm run test:drivers` (the VM, or a host with /dev/dri).
module.exports = {
  require: ['tsx/cjs'],
  extension: ['ts'],
  spec: process.env.BUFSHARE_TEST_SPEC ? process.env.BUFSHARE_TEST_SPEC.split(',') : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
  reporter: './test/support/reporter.cjs',
  timeout: 20000,
  exit: true,
};
