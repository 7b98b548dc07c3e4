import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { BackupUpload } from '../../generated/prisma/client.ts';
import { ArmError, errors } from '../../domain/errors.ts';
import {
  commitBackup,
  blockSizeOf,
  dataKeyOf,
  fixBlockSize,
  openUploadFor,
  recordBlock,
  uploadNotOpen,
  uploadOfContainer,
  vaultBlobs,
} from '../../services/backups.ts';
import { BlockChecksumError, MAX_BLOCKS_PER_BLOB, stageBlock } from '../../storage/backup-blobs.ts';
import { responses } from '../../arm/schemas.ts';
import { agentAuthentication, containerOf } from './auth.ts';
import {
  BlockParams,
  BlockReceipt,
  CommitRequest,
  CommitResponse,
  ContainerParams,
  OpenUploadRequest,
  UploadParams,
  UploadState,
} from '../../protocol/agent.ts';

const tags = ['agent'];
const security = [{ agentToken: [] }];
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Backup uploads (the streaming protocol, see protocol.ts): blocks go straight through checksum, optional
 * compression and AES-256-GCM into staged blocks of a block blob; the commit validates the chain and writes the
 * recovery point. Nothing is buffered beyond one block, and only when compressing.
 */
const uploadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Block bodies stay streams: the route hands them to blob storage as they arrive.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  const scoped = { onRequest: agentAuthentication(app) };
  const base = '/agent/v1/containers/:containerName/uploads';

  const stateOf = async (upload: BackupUpload) => {
    const blocks = await app.db.uploadBlock.findMany({
      where: { uploadId: upload.id },
      select: { index: true },
      orderBy: { index: 'asc' },
    });
    return {
      uploadId: upload.id,
      state: upload.state,
      blockSizeBytes: blockSizeOf(app, upload),
      receivedBlocks: blocks.map((b) => b.index),
      ...(upload.recoveryPointId === null ? {} : { recoveryPointId: upload.recoveryPointId }),
    };
  };

  app.post(
    base,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Open (or resume) the upload of a backup the vault asked for',
        params: ContainerParams,
        body: OpenUploadRequest,
        response: responses({ 200: UploadState }),
      },
    },
    async (request) => {
      const upload = await uploadOfContainer(app, containerOf(request).id, request.body.backupId);
      const item = await app.db.protectedItem.findUniqueOrThrow({ where: { id: upload.protectedItemId } });
      if (item.itemNameKey !== request.body.itemName.toLowerCase() || upload.backupType !== request.body.backupType) {
        throw errors.invalidInput(
          `Backup '${upload.id}' is a ${upload.backupType} backup of '${item.itemName}', not a ${request.body.backupType} of '${request.body.itemName}'.`,
        );
      }
      return stateOf(await fixBlockSize(app, upload, request.body.sizeBytes));
    },
  );

  app.get(
    `${base}/:uploadId`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Which blocks the vault holds (to resume after a lost connection)',
        params: UploadParams,
        response: responses({ 200: UploadState }),
      },
    },
    async (request) => stateOf(await uploadOfContainer(app, containerOf(request).id, request.params.uploadId)),
  );

  app.put(
    `${base}/:uploadId/blocks/:index`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Send one block (raw bytes; x-content-sha256 is their SHA-256 in hex); idempotent',
        consumes: ['application/octet-stream'],
        params: BlockParams,
        response: responses({ 200: BlockReceipt }),
      },
    },
    async (request) => {
      const upload = await openUploadFor(app, containerOf(request).id, request.params.uploadId);
      const sha256 = String(request.headers['x-content-sha256'] ?? '').toLowerCase();
      if (!SHA256.test(sha256))
        throw errors.invalidInput('The x-content-sha256 header must be the SHA-256 of the block, 64 hex digits.');
      const length = Number(request.headers['content-length']);
      const blockSize = upload.blockSizeBytes;
      if (request.params.index >= MAX_BLOCKS_PER_BLOB) {
        throw errors.invalidInput(
          `Block ${request.params.index} is beyond the ${MAX_BLOCKS_PER_BLOB} blocks a backup holds: announce the backup's size (sizeBytes) when opening the upload, and the vault chooses a block size it fits in.`,
        );
      }
      if (!Number.isInteger(length) || length < 0)
        throw new ArmError(411, 'LengthRequired', 'A block needs a Content-Length.');
      if (length > blockSize) throw errors.payloadTooLarge(blockSize);
      if (request.body === undefined || request.body === null)
        throw errors.unsupportedMediaType(String(request.headers['content-type'] ?? ''));
      try {
        const stored = await stageBlock({
          container: vaultBlobs(app, upload.vaultId),
          blobName: upload.blobName,
          index: request.params.index,
          attempt: randomUUID(),
          dataKey: await dataKeyOf(app, upload.vaultId),
          source: request.body as Readable,
          contentLength: length,
          expectedSha256: sha256,
          compress: upload.compress,
        });
        await recordBlock(app, upload, stored);
        return { index: request.params.index, sha256: stored.sha256, sizeBytes: stored.plaintextBytes };
      } catch (error) {
        if (error instanceof BlockChecksumError)
          throw new ArmError(400, 'UserErrorBlockChecksumMismatch', `Block ${request.params.index}: ${error.message}`);
        throw error;
      }
    },
  );

  app.post(
    `${base}/:uploadId/commit`,
    {
      ...scoped,
      schema: {
        tags,
        security,
        summary: 'Commit the backup: LSN chain check, then block list and recovery point at once',
        params: UploadParams,
        body: CommitRequest,
        response: responses({ 200: CommitResponse }),
      },
    },
    async (request) => {
      const upload = await uploadOfContainer(app, containerOf(request).id, request.params.uploadId);
      if (upload.state === 'Committed' && upload.recoveryPointId !== null)
        return { recoveryPointId: upload.recoveryPointId };
      if (upload.state !== 'Open') throw await uploadNotOpen(app, upload);
      const point = await commitBackup(app, upload, request.body.metadata);
      return { recoveryPointId: point.id };
    },
  );
};

export default uploadRoutes;
