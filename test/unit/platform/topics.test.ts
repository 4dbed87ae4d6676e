import { describe, expect, it } from 'vitest';
import { servingLabel, topicNames } from '../../../platform/topics.ts';

describe('per-version request topics', () => {
  const topics = topicNames('images', 'fashion-mnist');

  it('keeps the one-model names for the default model, named or not', () => {
    expect(topics.requestsFor('v1')).toBe('images.requests.v1');
    expect(topics.requestsFor('v1', null)).toBe('images.requests.v1');
    expect(topics.requestsFor('v1', 'fashion-mnist')).toBe('images.requests.v1');
  });

  it('puts any other model\'s versions under its name, so two models may both have a v1', () => {
    expect(topics.requestsFor('v1', 'text-orientation')).toBe('images.requests.text-orientation.v1');
    expect(servingLabel('v1', 'text-orientation', 'fashion-mnist')).toBe('text-orientation.v1');
    expect(topicNames('images', 'text-orientation').requestsFor('v1', 'text-orientation')).toBe('images.requests.v1');
  });
});
