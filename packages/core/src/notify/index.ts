export * from './notify-model.ts';
export * from './incidents.ts';
export * from './deliver.ts';
export * from './notify-store.ts';
export * from './notifier.ts';
