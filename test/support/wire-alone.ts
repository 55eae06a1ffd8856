/**
 * Run in a process of its own: the portal's wire module frames a notification with nothing loaded
 * before it, and prints the packet and the frame (hex) that a member's connection was given.
 */
import { RoomNotification } from '../../src/portal/wire.js';
import { flavourFor } from '../../src/portal/flavours.js';

const flavour = flavourFor('1.2', 'JavaScript');
const notification = new RoomNotification('text', { message: 'hi' }, 1);
const written: Array<[string, { wsPreEncodedFrame: Buffer[] }]> = [];
const connection = { write: (packet: string, options: { wsPreEncodedFrame: Buffer[] }) => void written.push([packet, options]) };
notification.writeTo(connection as never, flavour, notification.for(flavour)!);
const [[packet, options]] = written as [[string, { wsPreEncodedFrame: Buffer[] }]];
console.log(JSON.stringify({ packet, frame: Buffer.concat(options.wsPreEncodedFrame).toString('hex') }));
