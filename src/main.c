#include "config.h"

#include <stdio.h>

#include "util/i18n.h"

int main(int argc, char **argv)
{
	sd_i18n_init();
	(void)argc;
	(void)argv;
	puts(PACKAGE_STRING);
	return 0;
}
