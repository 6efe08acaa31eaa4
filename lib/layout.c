/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "layout.h"

#include "util.h"

char *tm_layout_join(const char *dir, const char *name)
{
	return tm_strdupf("%s/%s", dir, name);
}

char *tm_layout_hba(const char *hba)
{
	return tm_layout_join(TM_LAYOUT_CORE, hba);
}

char *tm_layout_backstore(const char *hba, const char *name)
{
	return tm_strdupf(TM_LAYOUT_CORE "/%s/%s", hba, name);
}

char *tm_layout_alua_group(const char *hba, const char *name, const char *group)
{
	return tm_strdupf(TM_LAYOUT_CORE "/%s/%s/" TM_LAYOUT_ALUA "/%s", hba, name, group);
}

char *tm_layout_wwn(const char *iqn)
{
	return tm_layout_join(TM_LAYOUT_ISCSI, iqn);
}

char *tm_layout_tpg(const char *iqn, unsigned tpgt)
{
	return tm_strdupf(TM_LAYOUT_ISCSI "/%s/" TM_LAYOUT_TPGT_PREFIX "%u", iqn, tpgt);
}

char *tm_layout_portal(const char *iqn, unsigned tpgt, const char *address)
{
	_cleanup_free_ char *tpg = tm_layout_tpg(iqn, tpgt);
	return tpg ? tm_strdupf("%s/" TM_LAYOUT_PORTALS "/%s", tpg, address) : NULL;
}

char *tm_layout_lun_name(unsigned number)
{
	return tm_strdupf(TM_LAYOUT_LUN_PREFIX "%u", number);
}

char *tm_layout_lun(const char *iqn, unsigned tpgt, unsigned number)
{
	_cleanup_free_ char *tpg = tm_layout_tpg(iqn, tpgt);
	return tpg ? tm_strdupf("%s/" TM_LAYOUT_LUNS "/" TM_LAYOUT_LUN_PREFIX "%u", tpg, number)
		   : NULL;
}

char *tm_layout_acl(const char *iqn, unsigned tpgt, const char *initiator)
{
	_cleanup_free_ char *tpg = tm_layout_tpg(iqn, tpgt);
	return tpg ? tm_strdupf("%s/" TM_LAYOUT_ACLS "/%s", tpg, initiator) : NULL;
}

char *tm_layout_mapped_lun(const char *iqn, unsigned tpgt, const char *initiator, unsigned number)
{
	_cleanup_free_ char *acl = tm_layout_acl(iqn, tpgt, initiator);
	return acl ? tm_strdupf("%s/" TM_LAYOUT_LUN_PREFIX "%u", acl, number) : NULL;
}
