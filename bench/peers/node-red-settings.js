// Node-RED settings for the peer benchmark: loopback only, no editor, no persistence.
module.exports = {
  uiHost: "127.0.0.1",
  uiPort: parseInt(process.env.NR_PORT || "1880", 10),
  httpAdminRoot: false,
  flowFile: process.env.NR_FLOWS,
  userDir: process.env.NR_USERDIR,
  logging: { console: { level: "warn" } },
  editorTheme: { tours: false },
  telemetry: { enabled: false }
};
