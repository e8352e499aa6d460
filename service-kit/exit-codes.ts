// How a service process tells its supervisor why it stopped. A configuration it can't run with is
// EX_CONFIG from sysexits.h, so systemd, Docker and the tests can tell "fix the settings" from a
// crash worth restarting.

/** Bad settings, or a state the settings must resolve (e.g. a sale whose home is another WAL). */
export const EXIT_CONFIGURATION_ERROR = 78;
