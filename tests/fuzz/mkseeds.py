#!/usr/bin/env python3
"""Regenerate the hand-built seed inputs of the fuzz targets (tests/fuzz/corpus/).

Seeds are tiny well-formed inputs that get each target past its first
checks: a valid ring with a 3-descriptor request, an indirect table, a
looping chain, a virtio bring-up sequence.  Run from anywhere; it rewrites
only the seeds named here.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def desc(addr, ln, flags, nxt):
    return struct.pack("<QIHH", addr, ln, flags, nxt)


NEXT, WRITE, INDIRECT = 1, 2, 4
RING = 0x100000

# ---- virtqueue ------------------------------------------------------------


def vq_seed(flags, descs, heads, indirect=b"", pops=8):
    num = 8
    hdr = struct.pack("<BBQQQHBB", 3, flags, 0, 0x80, 0x100, 0, 0, pops)
    ops = b"\x00\x10" * pops
    ring = bytearray(0x1100)
    table = b"".join(descs)
    ring[0:len(table)] = table
    avail = struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads)
    ring[0x80:0x80 + len(avail)] = avail
    ring[0x1000:0x1000 + len(indirect)] = indirect
    return hdr + ops + bytes(ring)


req = [desc(0x200000, 16, NEXT, 1), desc(0x201000, 512, WRITE | NEXT, 2),
       desc(0x202000, 1, WRITE, 0), desc(RING + 0x1000, 48, INDIRECT, 0)]
ind = desc(0x200000, 16, NEXT, 1) + desc(0x201000, 512, WRITE | NEXT, 2) + desc(0x202000, 1, WRITE, 0)
put("virtqueue", "chain-and-indirect", vq_seed(3, req, [0, 3], ind))
put("virtqueue", "loop", vq_seed(1, [desc(0x200000, 16, NEXT, 1), desc(0x200000, 16, NEXT, 0)], [0]))
put("virtqueue", "hole", vq_seed(0, [desc(0xd0000000, 16, NEXT, 1), desc(0xfee00000, 0xffffffff, WRITE, 0)], [0, 1]))
nested = desc(RING + 0x1000, 16, INDIRECT, 0)
put("virtqueue", "nested-indirect", vq_seed(2, [desc(RING + 0x1000, 16, INDIRECT, 0)], [0], nested))

# ---- virtio-blk / virtio-net driver programs (fuzz_virtio_drv.h) -------------
DATA = 0x200000


def op_bringup(feat=0xffffffffffffffff, skip=0, numlog=3):
    return struct.pack("<BQBH", 7, feat, skip, numlog)


def op_desc(q, idx, off, ln, flags, nxt, mode=0):
    return struct.pack("<BBBBQIHH", 4, q, idx, mode, off, ln, flags, nxt)


def op_mem(gpa, data):
    out = b""
    while data:
        chunk, data = data[:31], data[31:]
        off = gpa - RING
        out += struct.pack("<B", 3) + struct.pack("<I", off)[:3] + bytes([len(chunk)]) + chunk
        gpa += len(chunk)
    return out


def op_publish(q, head):
    return struct.pack("<BBH", 5, q, head)


def op_notify(q):
    return struct.pack("<BB", 6, q)


def blk_req(engine, typ, sector, data_len, data_flags, payload=b""):
    p = bytes([engine]) + op_bringup()
    hdr = struct.pack("<IIQ", typ, 0, sector) + payload
    p += op_mem(DATA, hdr)
    if data_len:
        p += op_desc(0, 0, 0, len(hdr), NEXT, 1)
        p += op_desc(0, 1, 0x1000, data_len, NEXT | data_flags, 2)
    else:
        p += op_desc(0, 0, 0, len(hdr), NEXT, 2)
    p += op_desc(0, 2, 0x2000, 1, WRITE, 0)
    return p + op_publish(0, 0) + op_notify(0)


for eng in (0, 1):
    put("virtio_blk", "read-%d" % eng, blk_req(eng, 0, 1, 1024, WRITE))
    put("virtio_blk", "write-%d" % eng, blk_req(eng, 1, 2, 512, 0))
put("virtio_blk", "flush", blk_req(0, 4, 0, 0, 0))
put("virtio_blk", "get-id", blk_req(0, 8, 0, 20, WRITE))
put("virtio_blk", "discard", blk_req(0, 11, 0, 0, 0, struct.pack("<QII", 4, 8, 0)))
put("virtio_blk", "write-zeroes", blk_req(0, 13, 0, 0, 0, struct.pack("<QII", 8, 8, 1)))
put("virtio_blk", "bad-type", blk_req(0, 77, 0, 512, WRITE))
# Indirect: one head descriptor pointing at a 3-entry table in the data area.
ind = desc(DATA, 16, NEXT, 1) + desc(DATA + 0x1000, 512, WRITE | NEXT, 2) + desc(DATA + 0x2000, 1, WRITE, 0)
p = bytes([0]) + op_bringup() + op_mem(DATA, struct.pack("<IIQ", 0, 0, 3)) + op_mem(DATA + 0x3000, ind)
p += op_desc(0, 0, 0x3000, 48, INDIRECT, 0) + op_publish(0, 0) + op_notify(0)
put("virtio_blk", "indirect", p)

# ---- virtio-net --------------------------------------------------------------


def op_host_frame(ln, fill):
    return struct.pack("<BHB", 9, ln, fill)


def net_prog(mrg):
    feat = (1 << 32) | ((1 << 15) if mrg else 0)
    p = op_bringup(feat=feat, skip=0x80)
    # TX: header + two data pieces gathered.
    p += op_desc(1, 0, 0x10000, 12, NEXT, 1) + op_desc(1, 1, 0x11000, 100, NEXT, 2)
    p += op_desc(1, 2, 0x12000, 400, 0, 0) + op_publish(1, 0) + op_notify(1)
    # RX: four small buffers, then a frame bigger than one of them.
    for i in range(4):
        p += op_desc(0, i, 0x20000 + i * 0x1000, 256, WRITE, 0) + op_publish(0, i)
    p += op_notify(0) + op_host_frame(700, 0xab) + op_notify(0)
    return p


put("virtio_net", "mrg", net_prog(True))
put("virtio_net", "nomrg", net_prog(False))

# ---- acpi_fdt ----------------------------------------------------------------


def af(cpus, nfake, nrng, fdt_size, append=b"console=ttyS0", devs=b""):
    return struct.pack("<BHB", cpus, nfake, nrng) + struct.pack("<I", fdt_size)[:3] + \
        bytes([len(append)]) + append + devs


put("acpi_fdt", "small", af(2, 3, 1, 0x10000))
put("acpi_fdt", "many", af(64, 1200, 3, 0x3ffff))
put("acpi_fdt", "overflow", af(64, 3000, 0, 0x1000))
put("acpi_fdt", "tight", af(1, 10, 0, 0x400))
put("acpi_fdt", "raw", af(4, 4, 0, 0x8000, devs=struct.pack("<BHQI", 0x80, 300, 0x1_0000_0000, 99) +
                          struct.pack("<BHQI", 0x81, 3, 0x3f8, 4)))

# ---- x86_decode: [mode][mmio fill][code] ---------------------------------------
X86 = {
    # xor ecx,ecx; mov eax,5; div ecx (#DE)
    "de": bytes.fromhex("31c9b805000000f7f1"),
    # mov eax,0xd0000010; mov ecx,[eax]; add ecx,1; mov [eax+4],ecx; add dword [eax],5; hlt
    "mmio": bytes.fromhex("b8100000d08b0883c101894804830005f4"),
    # out/in on 0x3f8, rep outsb
    "io": bytes.fromhex("66baf803b041eeec66baf803be00000200b903000000f36ef4"),
    # rep movsb / stosq / cmpsb / scasb over pages
    "rep": bytes.fromhex("fcbef00f0200bff80f0400b900200000f3a4bf00000500b844332211b900030000f348abfdbeff0f0200bfff0f0600b900010000f3a4f4"),
    # fxsave/fxrstor/SSE converts/x87 control
    "fx": bytes.fromhex("bb000002000fae03660fefc0660f6fc80fae9b00020000c78304020000807f00000fae9304020000f20f2dc20fae0bf20f2dcad9bb08020000dbe3ddbb0a0200000fae9b0c0200000fae4308"),
    # syscall / vmcall / rdmsr of an unknown MSR / lock xadd loop
    "sys": bytes.fromhex("b8070000000f05b8341200000f01c1b9452301000f32"),
    "lock": bytes.fromhex("b9a0860100f048ff03ba01000000f0480fc15308ffc975edf4"),
    # write to the #PF window, jmp to it
    "pf": bytes.fromhex("b810003000c70001000000b800001000ffe0"),
}
for name, code in X86.items():
    for mode in (0, 1, 2, 2 | 4, 2 | 8, 1 | 16):
        put("x86_decode", "%s-%d" % (name, mode), bytes([mode, 0x5a]) + code)
