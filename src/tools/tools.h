/*
 * tools - administrator commands: config, user, newaliases.
 */
#ifndef POSTIE_TOOLS_TOOLS_H
#define POSTIE_TOOLS_TOOLS_H

int config_main(int argc, char **argv);
int user_main(int argc, char **argv);
int newaliases_main(int argc, char **argv);
int doctor_main(int argc, char **argv);   /* doctor.c, see doctor.h */

#endif
