// Test support of core (`@idra/core/testing`): in-memory connectors and stores. Not shipped in images.
export * from './memory.ts';
