import { Command } from 'commander';
import { openImages, requireImages, withStateLease } from './image-session.js';

/** `tsbuild tag SOURCE TARGET`: a second name for a stored image, as `docker tag`. */
export function tagCommand(): Command {
  return new Command('tag')
    .description('give a stored image another name (docker tag)')
    .argument('<source>', 'an image name or ID')
    .argument('<target>', 'the new name, REPOSITORY[:TAG]')
    .action(async (source: string, target: string) => {
      const { paths, images } = await openImages();
      const store = requireImages(images, source);
      await withStateLease(paths, () => store.tag(source, target));
    });
}
