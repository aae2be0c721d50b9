/*
 * x86 decoder: prefixes, opcode tables, ModRM/SIB/displacement/immediates.
 *
 * The tables map an opcode to a handler, operand-shape flags and a small
 * argument.  Entries left out are zero (fn == NULL) and raise #UD; they are
 * the explicitly unsupported opcodes and are counted in cpu->stats.ud.
 */
#include "x86_internal.h"

#define M F_MODRM
#define B F_BYTE
#define ALU(base, op) \
	[(base) + 0] = { op_alu, M | B, op }, [(base) + 1] = { op_alu, M, op }, \
	[(base) + 2] = { op_alu, M | B, op }, [(base) + 3] = { op_alu, M, op }, \
	[(base) + 4] = { op_alu_acc, B | F_IMM8, op }, [(base) + 5] = { op_alu_acc, F_IMMZ, op }
#define R8(base, fn, fl) \
	[(base) + 0] = { fn, fl, 0 }, [(base) + 1] = { fn, fl, 1 }, [(base) + 2] = { fn, fl, 2 }, \
	[(base) + 3] = { fn, fl, 3 }, [(base) + 4] = { fn, fl, 4 }, [(base) + 5] = { fn, fl, 5 }, \
	[(base) + 6] = { fn, fl, 6 }, [(base) + 7] = { fn, fl, 7 }
#define R16(base, fn, fl) R8(base, fn, fl), \
	[(base) + 8] = { fn, fl, 8 }, [(base) + 9] = { fn, fl, 9 }, [(base) + 10] = { fn, fl, 10 }, \
	[(base) + 11] = { fn, fl, 11 }, [(base) + 12] = { fn, fl, 12 }, [(base) + 13] = { fn, fl, 13 }, \
	[(base) + 14] = { fn, fl, 14 }, [(base) + 15] = { fn, fl, 15 }

const struct x86_op x86_ops_1b[256] = {
	ALU(0x00, X86_ALU_ADD), ALU(0x08, X86_ALU_OR), ALU(0x10, X86_ALU_ADC), ALU(0x18, X86_ALU_SBB),
	ALU(0x20, X86_ALU_AND), ALU(0x28, X86_ALU_SUB), ALU(0x30, X86_ALU_XOR), ALU(0x38, X86_ALU_CMP),
	[0x06] = { op_push_sreg, F_INV64, X86_ES }, [0x07] = { op_pop_sreg, F_INV64, X86_ES },
	[0x0e] = { op_push_sreg, F_INV64, X86_CS },
	[0x16] = { op_push_sreg, F_INV64, X86_SS }, [0x17] = { op_pop_sreg, F_INV64, X86_SS },
	[0x1e] = { op_push_sreg, F_INV64, X86_DS }, [0x1f] = { op_pop_sreg, F_INV64, X86_DS },
	/* 0x27 DAA, 0x2f DAS, 0x37 AAA, 0x3f AAS: unsupported (#UD) */
	R8(0x40, op_incdec_r, F_INV64), R8(0x48, op_incdec_r, F_INV64),
	R8(0x50, op_push_r, F_DEF64), R8(0x58, op_pop_r, F_DEF64),
	[0x60] = { op_pusha, F_INV64, 0 }, [0x61] = { op_popa, F_INV64, 0 },
	/* 0x62 BOUND: unsupported */
	[0x63] = { op_movsxd, M, 0 },
	[0x68] = { op_push_imm, F_DEF64 | F_IMMZ, 0 }, [0x69] = { op_imul3, M | F_IMMZ, 0 },
	[0x6a] = { op_push_imm, F_DEF64 | F_IMM8, 0 }, [0x6b] = { op_imul3, M | F_IMM8, 0 },
	[0x6c] = { op_string, B, 0x6c }, [0x6d] = { op_string, 0, 0x6d },
	[0x6e] = { op_string, B, 0x6e }, [0x6f] = { op_string, 0, 0x6f },
	R16(0x70, op_jcc, F_IMM8 | F_F64),
	[0x80] = { op_grp1, M | B | F_IMM8 | F_GRP, 0 }, [0x81] = { op_grp1, M | F_IMMZ | F_GRP, 0 },
	[0x82] = { op_grp1, M | B | F_IMM8 | F_GRP | F_INV64, 0 },
	[0x83] = { op_grp1, M | F_IMM8 | F_GRP, 0 },
	[0x84] = { op_test, M | B, 0 }, [0x85] = { op_test, M, 0 },
	[0x86] = { op_xchg, M | B, 0 }, [0x87] = { op_xchg, M, 0 },
	[0x88] = { op_mov, M | B, 0 }, [0x89] = { op_mov, M, 0 },
	[0x8a] = { op_mov, M | B, 0 }, [0x8b] = { op_mov, M, 0 },
	[0x8c] = { op_mov_sreg, M, 0 }, [0x8d] = { op_lea, M, 0 }, [0x8e] = { op_mov_sreg, M, 0 },
	[0x8f] = { op_pop_rm, M | F_DEF64 | F_GRP, 0 },
	[0x90] = { op_nop90, 0, 0 },
	[0x91] = { op_xchg_acc, 0, 1 }, [0x92] = { op_xchg_acc, 0, 2 }, [0x93] = { op_xchg_acc, 0, 3 },
	[0x94] = { op_xchg_acc, 0, 4 }, [0x95] = { op_xchg_acc, 0, 5 }, [0x96] = { op_xchg_acc, 0, 6 },
	[0x97] = { op_xchg_acc, 0, 7 },
	[0x98] = { op_cbw, 0, 0 }, [0x99] = { op_cwd, 0, 0 },
	[0x9a] = { op_callf, F_FARPTR | F_INV64, 0 }, [0x9b] = { op_nop, 0, 1 },
	[0x9c] = { op_pushf, F_DEF64, 0 }, [0x9d] = { op_popf, F_DEF64, 0 },
	[0x9e] = { op_sahf, 0, 0 }, [0x9f] = { op_lahf, 0, 0 },
	[0xa0] = { op_mov_moffs, B | F_MOFFS, 0 }, [0xa1] = { op_mov_moffs, F_MOFFS, 0 },
	[0xa2] = { op_mov_moffs, B | F_MOFFS, 1 }, [0xa3] = { op_mov_moffs, F_MOFFS, 1 },
	[0xa4] = { op_string, B, 0xa4 }, [0xa5] = { op_string, 0, 0xa5 },
	[0xa6] = { op_string, B, 0xa6 }, [0xa7] = { op_string, 0, 0xa7 },
	[0xa8] = { op_test_acc, B | F_IMM8, 0 }, [0xa9] = { op_test_acc, F_IMMZ, 0 },
	[0xaa] = { op_string, B, 0xaa }, [0xab] = { op_string, 0, 0xab },
	[0xac] = { op_string, B, 0xac }, [0xad] = { op_string, 0, 0xad },
	[0xae] = { op_string, B, 0xae }, [0xaf] = { op_string, 0, 0xaf },
	R8(0xb0, op_mov_r_imm, B | F_IMM8), R8(0xb8, op_mov_r_imm, F_IMMV),
	[0xc0] = { op_shift, M | B | F_IMM8 | F_GRP, 2 }, [0xc1] = { op_shift, M | F_IMM8 | F_GRP, 2 },
	[0xc2] = { op_ret, F_IMM16 | F_F64, 1 }, [0xc3] = { op_ret, F_F64, 0 },
	[0xc4] = { op_les, M | F_INV64, X86_ES }, [0xc5] = { op_les, M | F_INV64, X86_DS },
	[0xc6] = { op_mov_rm_imm, M | B | F_IMM8 | F_GRP, 0 },
	[0xc7] = { op_mov_rm_imm, M | F_IMMZ | F_GRP, 0 },
	[0xc8] = { op_enter, F_IMM16_8 | F_DEF64, 0 }, [0xc9] = { op_leave, F_DEF64, 0 },
	[0xca] = { op_retf, F_IMM16, 1 }, [0xcb] = { op_retf, 0, 0 },
	[0xcc] = { op_int3, 0, 0 }, [0xcd] = { op_int, F_IMM8, 0 },
	[0xce] = { op_into, F_INV64, 0 }, [0xcf] = { op_iret, 0, 0 },
	[0xd0] = { op_shift, M | B | F_GRP, 0 }, [0xd1] = { op_shift, M | F_GRP, 0 },
	[0xd2] = { op_shift, M | B | F_GRP, 1 }, [0xd3] = { op_shift, M | F_GRP, 1 },
	[0xd4] = { op_aam, F_IMM8 | F_INV64, 0 }, [0xd5] = { op_aam, F_IMM8 | F_INV64, 1 },
	[0xd6] = { op_salc, F_INV64, 0 }, [0xd7] = { op_xlat, 0, 0 },
	R8(0xd8, op_x87, M),
	[0xe0] = { op_loop, F_IMM8 | F_F64, 0 }, [0xe1] = { op_loop, F_IMM8 | F_F64, 1 },
	[0xe2] = { op_loop, F_IMM8 | F_F64, 2 }, [0xe3] = { op_jcxz, F_IMM8 | F_F64, 0 },
	[0xe4] = { op_in, B | F_IMM8, 0 }, [0xe5] = { op_in, F_IMM8, 0 },
	[0xe6] = { op_out, B | F_IMM8, 0 }, [0xe7] = { op_out, F_IMM8, 0 },
	[0xe8] = { op_call, F_IMMZ | F_F64, 0 }, [0xe9] = { op_jmp, F_IMMZ | F_F64, 0 },
	[0xea] = { op_jmpf, F_FARPTR | F_INV64, 0 }, [0xeb] = { op_jmp, F_IMM8 | F_F64, 0 },
	[0xec] = { op_in, B, 1 }, [0xed] = { op_in, 0, 1 },
	[0xee] = { op_out, B, 1 }, [0xef] = { op_out, 0, 1 },
	[0xf1] = { op_int3, 0, 1 },
	[0xf4] = { op_hlt, 0, 0 }, [0xf5] = { op_cmc, 0, 0 },
	[0xf6] = { op_grp3, M | B | F_GRP, 0 }, [0xf7] = { op_grp3, M | F_GRP, 0 },
	[0xf8] = { op_flagop, 0, 0 }, [0xf9] = { op_flagop, 0, 1 },
	[0xfa] = { op_cli_sti, 0, 0 }, [0xfb] = { op_cli_sti, 0, 1 },
	[0xfc] = { op_flagop, 0, 2 }, [0xfd] = { op_flagop, 0, 3 },
	[0xfe] = { op_grp45, M | B | F_GRP, 0 }, [0xff] = { op_grp45, M | F_GRP, 1 },
};
_Static_assert(ARRAY_SIZE_X(x86_ops_1b) == 256, "1-byte opcode table");

#define S(op) [op] = { op_sse, M | F_SSE, 0 }
const struct x86_op x86_ops_0f[256] = {
	[0x00] = { op_grp6, M | F_GRP, 0 }, [0x01] = { op_grp7, M | F_GRP, 0 },
	[0x02] = { op_lsl_lar, M, 0 }, [0x03] = { op_lsl_lar, M, 1 },
	[0x05] = { op_syscall, 0, 0 }, [0x06] = { op_clts, 0, 0 }, [0x07] = { op_sysret, 0, 0 },
	[0x08] = { op_invd, 0, 0 }, [0x09] = { op_invd, 0, 1 }, [0x0b] = { op_ud2, 0, 0 },
	[0x0d] = { op_nopm, M, 0 },
	S(0x10), S(0x11), S(0x12), S(0x13), S(0x14), S(0x15), S(0x16), S(0x17),
	R8(0x18, op_nopm, M),
	[0x20] = { op_mov_cr, M | F_F64, 0 }, [0x22] = { op_mov_cr, M | F_F64, 1 },
	[0x21] = { op_mov_dr, M | F_F64, 0 }, [0x23] = { op_mov_dr, M | F_F64, 1 },
	S(0x28), S(0x29), S(0x2a), S(0x2b), S(0x2c), S(0x2d), S(0x2e), S(0x2f),
	[0x30] = { op_wrmsr, 0, 0 }, [0x31] = { op_rdtsc, 0, 0 }, [0x32] = { op_rdmsr, 0, 0 },
	[0x33] = { op_rdpmc, 0, 0 }, [0x34] = { op_sysenter, 0, 0 }, [0x35] = { op_sysexit, 0, 0 },
	R16(0x40, op_cmovcc, M),
	S(0x50), S(0x51), S(0x54), S(0x55), S(0x56), S(0x57),
	S(0x58), S(0x59), S(0x5a), S(0x5b), S(0x5c), S(0x5d), S(0x5e), S(0x5f),
	S(0x60), S(0x61), S(0x62), S(0x63), S(0x64), S(0x65), S(0x66), S(0x67),
	S(0x68), S(0x69), S(0x6a), S(0x6b), S(0x6c), S(0x6d), S(0x6e), S(0x6f),
	S(0x70), S(0x71), S(0x72), S(0x73), S(0x74), S(0x75), S(0x76),
	[0x77] = { op_sse, F_SSE, 0 },
	S(0x7e), S(0x7f),
	R16(0x80, op_jcc, F_IMMZ | F_F64),
	R16(0x90, op_setcc, M | B),
	[0xa0] = { op_push_sreg, F_DEF64, X86_FS }, [0xa1] = { op_pop_sreg, F_DEF64, X86_FS },
	[0xa2] = { op_cpuid, 0, 0 }, [0xa3] = { op_bt, M, 0 },
	[0xa4] = { op_shld, M | F_IMM8, 0 }, [0xa5] = { op_shld, M, 1 },
	[0xa8] = { op_push_sreg, F_DEF64, X86_GS }, [0xa9] = { op_pop_sreg, F_DEF64, X86_GS },
	[0xab] = { op_bt, M, 1 },
	[0xac] = { op_shld, M | F_IMM8, 2 }, [0xad] = { op_shld, M, 3 },
	[0xae] = { op_fxgrp, M | F_GRP, 0 }, [0xaf] = { op_imul2, M, 0 },
	[0xb0] = { op_cmpxchg, M | B, 0 }, [0xb1] = { op_cmpxchg, M, 0 },
	[0xb2] = { op_les, M, X86_SS }, [0xb3] = { op_bt, M, 2 },
	[0xb4] = { op_les, M, X86_FS }, [0xb5] = { op_les, M, X86_GS },
	[0xb6] = { op_movx, M, 0 }, [0xb7] = { op_movx, M, 1 },
	[0xb8] = { op_popcnt, M, 0 },
	[0xba] = { op_bt_grp, M | F_IMM8 | F_GRP, 0 }, [0xbb] = { op_bt, M, 3 },
	[0xbc] = { op_bsf, M, 0 }, [0xbd] = { op_bsf, M, 1 },
	[0xbe] = { op_movx, M, 2 }, [0xbf] = { op_movx, M, 3 },
	[0xc0] = { op_xadd, M | B, 0 }, [0xc1] = { op_xadd, M, 0 },
	[0xc2] = { op_sse, M | F_SSE | F_IMM8, 0 }, [0xc3] = { op_sse, M, 0 },
	[0xc4] = { op_sse, M | F_SSE | F_IMM8, 0 }, [0xc5] = { op_sse, M | F_SSE | F_IMM8, 0 },
	[0xc6] = { op_sse, M | F_SSE | F_IMM8, 0 }, [0xc7] = { op_grp9, M | F_GRP, 0 },
	R8(0xc8, op_bswap, 0),
	S(0xd1), S(0xd2), S(0xd3), S(0xd4), S(0xd5), S(0xd6), S(0xd7),
	S(0xd8), S(0xd9), S(0xda), S(0xdb), S(0xdc), S(0xdd), S(0xde), S(0xdf),
	S(0xe0), S(0xe1), S(0xe2), S(0xe3), S(0xe4), S(0xe5), S(0xe6), S(0xe7),
	S(0xe8), S(0xe9), S(0xea), S(0xeb), S(0xec), S(0xed), S(0xee), S(0xef),
	S(0xf1), S(0xf2), S(0xf3), S(0xf4), S(0xf5), S(0xf6), S(0xf7),
	S(0xf8), S(0xf9), S(0xfa), S(0xfb), S(0xfc), S(0xfd), S(0xfe),
};
_Static_assert(ARRAY_SIZE_X(x86_ops_0f) == 256, "0F opcode table");
/* 0F 38 and 0F 3A (SSSE3/SSE4) are not advertised: every entry raises #UD. */

static const uint8_t imm_for_sse_shift[256] = {
	[0x70] = 1, [0x71] = 1, [0x72] = 1, [0x73] = 1,
};

void x86_op_ud(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;

	cpu->stats.ud++;
	cpu->stats.last_ud_rip = cpu->rip;
	for (unsigned k = 0; k < 15; k++)
		cpu->stats.last_ud_bytes[k] = k < c->fetch_avail ? c->fetch[k] : 0;
	X86_UD(c);
}

static inline uint8_t fb(struct x86_ctx *c, unsigned idx)
{
	if (__builtin_expect(idx >= 15, 0))
		X86_GP0(c);
	if (__builtin_expect(idx < c->fetch_avail, 1))
		return c->fetch[idx];
	return x86_fetch_slow(c, idx);
}

static uint64_t fetch_imm(struct x86_ctx *c, unsigned *idx, unsigned size)
{
	uint64_t v = 0;

	for (unsigned k = 0; k < size; k++)
		v |= (uint64_t)fb(c, *idx + k) << (8 * k);
	*idx += size;
	return v;
}

static const uint8_t modrm16_base[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP, X86_RSI, X86_RDI, X86_RBP, X86_RBX };
static const uint8_t modrm16_index[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI, 0xff, 0xff, 0xff, 0xff };

/*
 * ModRM/SIB: the address form (base, index, scale, displacement) is decoded
 * once; x86_calc_ea() adds the registers at execution time, so decoded
 * instructions can be cached.
 */
static void decode_modrm(struct x86_ctx *c, unsigned *idx)
{
	struct x86_insn *i = c->dec;
	uint8_t m = fb(c, (*idx)++);
	unsigned rexr = (i->rex & 4) << 1, rexx = (i->rex & 2) << 2, rexb = (i->rex & 1) << 3;

	i->modrm = m;
	i->mod = m >> 6;
	i->reg = ((m >> 3) & 7) | rexr;
	i->rm = (m & 7) | (i->mod == 3 ? rexb : 0);
	if (i->mod == 3)
		return;
	unsigned rm = m & 7;
	uint8_t defseg = X86_DS;
	int64_t disp = 0;

	i->ea_base = i->ea_index = X86_EA_NONE;
	i->ea_scale = 0;
	if (i->addrsize == 2) {
		if (i->mod == 0 && rm == 6) {
			disp = fetch_imm(c, idx, 2);
		} else {
			i->ea_base = modrm16_base[rm];
			i->ea_index = modrm16_index[rm];
			if (rm == 2 || rm == 3 || rm == 6)
				defseg = X86_SS;
			if (i->mod == 1)
				disp = (int8_t)fb(c, (*idx)++);
			else if (i->mod == 2)
				disp = fetch_imm(c, idx, 2);
		}
	} else {
		if (rm == 4) {
			uint8_t sib = fb(c, (*idx)++);
			unsigned base = (sib & 7) | rexb, index = ((sib >> 3) & 7) | rexx;

			if (index != 4) {
				i->ea_index = index;
				i->ea_scale = sib >> 6;
			}
			if ((sib & 7) == 5 && i->mod == 0) {
				disp = (int32_t)fetch_imm(c, idx, 4);
			} else {
				i->ea_base = base;
				if ((base & 7) == X86_RSP || (base & 7) == X86_RBP)
					defseg = X86_SS;
			}
		} else if (rm == 5 && i->mod == 0) {
			disp = (int32_t)fetch_imm(c, idx, 4);
			if (x86_long64(c))
				i->ea_base = X86_EA_RIP;
		} else {
			i->ea_base = rm | rexb;
			if (rm == X86_RBP)
				defseg = X86_SS;
		}
		if (i->mod == 1)
			disp += (int8_t)fb(c, (*idx)++);
		else if (i->mod == 2)
			disp += (int32_t)fetch_imm(c, idx, 4);
	}
	i->disp = disp;
	i->seg = i->seg_ovr != 0xff ? i->seg_ovr : defseg;
}


void x86_decode(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;
	struct x86_insn *i = c->dec;
	bool l64 = x86_long64(c);
	bool def32 = l64 || cpu->seg[X86_CS].db;
	bool asz = false;
	unsigned idx = 0;
	uint8_t b;

	memset(i, 0, sizeof(*i));
	i->seg_ovr = 0xff;
	i->seg = X86_DS;
	for (;;) {
		b = fb(c, idx++);
		switch (b) {
		case 0x66: i->pfx66 = 1; i->rex = 0; continue;
		case 0x67: asz = true; i->rex = 0; continue;
		case 0xf2: case 0xf3: i->rep = b; i->rex = 0; continue;
		case 0xf0: i->lock = 1; i->rex = 0; continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			if (!l64)
				i->seg_ovr = (b >> 3) & 3;
			i->rex = 0;
			continue;
		case 0x64: case 0x65: i->seg_ovr = b - 0x64 + X86_FS; i->rex = 0; continue;
		default: break;
		}
		if (l64 && (b & 0xf0) == 0x40) {
			i->rex = b;
			continue;
		}
		break;
	}
	if (i->seg_ovr != 0xff)
		i->seg = i->seg_ovr;
	const struct x86_op *op;

	if (b != 0x0f) {
		i->map = 0;
		op = &x86_ops_1b[b];
	} else {
		b = fb(c, idx++);
		if (b == 0x38 || b == 0x3a) {
			i->map = b == 0x38 ? 2 : 3;
			i->opcode = fb(c, idx++);
			i->len = idx;
			x86_op_ud(c);
		}
		i->map = 1;
		op = &x86_ops_0f[b];
	}
	i->opcode = b;
	if (__builtin_expect(!op->fn, 0)) {
		i->len = idx;
		x86_op_ud(c);
	}
	unsigned fl = op->flags;

	if ((fl & F_INV64) && l64) {
		/* C4/C5 are VEX in 64-bit mode: AVX is not advertised, so #UD too */
		i->len = idx;
		x86_op_ud(c);
	}
	i->flags = fl;
	i->arg = op->arg;
	i->fn = op->fn;
	if (fl & F_BYTE)
		i->opsize = 1;
	else if (i->rex & 8)
		i->opsize = 8;
	else if (l64 && (fl & F_F64))
		i->opsize = 8;
	else if (l64 && (fl & F_DEF64))
		i->opsize = i->pfx66 ? 2 : 8;
	else
		i->opsize = (def32 ^ i->pfx66) ? 4 : 2;
	if (l64)
		i->addrsize = asz ? 4 : 8;
	else
		i->addrsize = (cpu->seg[X86_CS].db ^ asz) ? 4 : 2;
	if (fl & F_MODRM) {
		decode_modrm(c, &idx);
		if (i->mod != 3)
			i->flags |= F_MEM;
	}
	if (fl & (F_IMM8 | F_IMMZ | F_IMMV | F_IMM16 | F_MOFFS | F_FARPTR | F_IMM16_8)) {
		if (fl & F_IMM8) {
			i->imm = fetch_imm(c, &idx, 1);
		} else if (fl & F_IMMZ) {
			unsigned s = i->opsize == 2 ? 2 : 4;

			i->imm = (uint64_t)x86_sext(fetch_imm(c, &idx, s), s);
		} else if (fl & F_IMMV) {
			i->imm = fetch_imm(c, &idx, i->opsize);
		} else if (fl & F_IMM16) {
			i->imm = fetch_imm(c, &idx, 2);
		} else if (fl & F_MOFFS) {
			i->imm = fetch_imm(c, &idx, i->addrsize);
		} else if (fl & F_FARPTR) {
			i->imm = fetch_imm(c, &idx, i->opsize == 2 ? 2 : 4);
			i->imm2 = fetch_imm(c, &idx, 2);
		} else {
			i->imm = fetch_imm(c, &idx, 2);
			i->imm2 = fetch_imm(c, &idx, 1);
		}
	} else if (i->map == 0 && (b == 0xf6 || b == 0xf7) && ((i->reg & 7) < 2)) {
		unsigned s = b == 0xf6 ? 1 : (i->opsize == 2 ? 2 : 4);

		i->imm = (uint64_t)x86_sext(fetch_imm(c, &idx, s), s);
	} else if (i->map == 1 && imm_for_sse_shift[b]) {
		i->imm = fetch_imm(c, &idx, 1);
	}
	i->len = idx;
}
