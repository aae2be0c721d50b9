/* Debugging aids: the --trace explanation of one address, and counters. */
#include "shadow.h"

#include <inttypes.h>

void shadow__get_stats(struct shadow_mmu *mmu, struct shadow_stats *st)
{
	pthread_mutex_lock(&mmu->vm->lock);
	*st = mmu->vm->stats;
	pthread_mutex_unlock(&mmu->vm->lock);
	st->tlb_hits = mmu->tlb_hits;
	st->translates = mmu->translates;
}

/* ---- explain -------------------------------------------------------------------- */

static void print_role(FILE *out, const struct shadow_page *sp)
{
	union shadow_role r = sp->role;

	fprintf(out, "sp gfn %#" PRIx64 " role{level %u %s%s q%u acc %c%c%c wp %u nx %u%s%s}",
		sp->gfn, r.level, r.direct ? "direct" : "indirect",
		r.has_4_byte_gpte ? " gpte4" : "", r.quadrant,
		r.access & SHADOW_ACC_U_MASK ? 'u' : '-', r.access & SHADOW_ACC_W_MASK ? 'w' : '-',
		r.access & SHADOW_ACC_X_MASK ? 'x' : '-', r.cr0_wp, r.efer_nx,
		r.invalid ? " invalid" : "", sp->unsync ? " unsync" : "");
}

void shadow__explain(struct shadow_mmu *mmu, const struct shadow_mode *m, uint64_t linear,
		     FILE *out)
{
	struct shadow_vm *svm = mmu->vm;
	struct shadow_walker w;
	uint64_t *sptep;
	int level;

	pthread_mutex_lock(&svm->lock);
	fprintf(out, "linear %#" PRIx64 ": cr0 %#" PRIx64 " cr3 %#" PRIx64 " cr4 %#" PRIx64
		" efer %#" PRIx64 "\n", linear, m->cr0, m->cr3, m->cr4, m->efer);
	if (!(m->cr0 & X86_CR0_PG)) {
		fprintf(out, "  guest: paging off, gpa %#" PRIx64 "\n", linear & 0xffffffffu);
	} else if (shadow_walk(svm, mmu, m, linear, SHADOW_WALK_PEEK, &w)) {
		fprintf(out, "  guest: fault, error code %#x\n", w.error_code);
		for (int l = 4; l >= 1; l--)
			if (w.table_gfn[l] || w.pte[l])
				fprintf(out, "  guest L%d table gfn %#" PRIx64 " gpte %#" PRIx64 "\n",
					l, w.table_gfn[l], w.pte[l]);
	} else {
		for (int l = w.root_level; l >= w.level; l--)
			fprintf(out, "  guest L%d table gfn %#" PRIx64 " gpte %#" PRIx64 "\n", l,
				w.table_gfn[l], w.pte[l]);
		fprintf(out, "  guest: leaf level %d gpa %#" PRIx64 " access %c%c%c%s\n", w.level,
			(w.gfn << 12) | (linear & 0xfff),
			w.pte_access & SHADOW_ACC_U_MASK ? 'u' : '-',
			w.pte_access & SHADOW_ACC_W_MASK ? 'w' : '-',
			w.pte_access & SHADOW_ACC_X_MASK ? 'x' : '-', w.global ? " global" : "");
	}
	if (!mmu->root_valid || shadow_mode_differs(&mmu->mode, m, &(bool){ false })) {
		fprintf(out, "  shadow: no root loaded for this mode\n");
		goto out;
	}
	sptep = shadow_root_entry(mmu, linear, &level);
	while (*sptep & SPTE_NONLEAF) {
		struct shadow_page *sp = spte_to_sp(*sptep);
		level--;
		fprintf(out, "  shadow L%d ", level);
		print_role(out, sp);
		sptep = &sp->spt[shadow_spte_index(linear, level)];
		fprintf(out, " [%u]\n", shadow_spte_index(linear, level));
	}
	if (!*sptep)
		fprintf(out, "  spte: none (next access faults in)\n");
	else
		fprintf(out, "  spte %#018" PRIx64 ": %s%s%s%s%s%s\n", *sptep,
			*sptep & SPTE_MMIO ? "mmio " : "", *sptep & SPTE_LARGE ? "2M " : "4K ",
			*sptep & SPTE_U ? "u" : "-", *sptep & SPTE_W ? "w" : "-",
			*sptep & SPTE_X ? "x" : "-", *sptep & SPTE_G ? " global" : "");
out:
	pthread_mutex_unlock(&svm->lock);
}
